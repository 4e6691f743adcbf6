use serde_json::json;
use sigcore::Signal;

use crate::args::ListArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &ListArgs) -> Result<(), CliError> {
    if !args.json {
        output::line(&format!(
            "{:>3}  {:<13} {:<9} {:<5} DESCRIPTION",
            "NUM", "NAME", "DEFAULT", "CATCH"
        ));
    }
    for signal in Signal::all() {
        let catchable = signal.can_catch();
        let printed = if args.json {
            output::json(&json!({
                "number": signal.number(),
                "name": signal.name(),
                "description": signal.description(),
                "default_action": signal.default_action().as_str(),
                "catchable": catchable,
                "waitable": signal.check_waitable().is_ok(),
            }))
        } else {
            output::line(&format!(
                "{:>3}  {:<13} {:<9} {:<5} {}",
                signal.number(),
                signal.name(),
                signal.default_action().as_str(),
                if catchable { "yes" } else { "no" },
                signal.description()
            ))
        };
        if !printed {
            break;
        }
    }
    Ok(())
}
