//! Property tests for the parser and the origin decoder: no signals involved, so
//! the normal test harness is fine here.

use proptest::prelude::*;
use sigcore::{Error, Origin, Signal};

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        match text.parse::<Signal>() {
            Ok(signal) => prop_assert!(Signal::all().any(|s| s == signal)),
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.starts_with("invalid signal"), "{}", message);
                prop_assert!(message.len() < 300);
            }
        }
    }

    #[test]
    fn arbitrary_numbers_are_valid_or_refused(number in any::<i32>()) {
        match Signal::new(number) {
            Ok(signal) => prop_assert_eq!(signal.number(), number),
            Err(Error::InvalidSignal { .. }) => {
                prop_assert!(!Signal::all().any(|s| s.number() == number))
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    #[test]
    fn every_signal_round_trips_in_every_spelling(index in 0usize..62, lower in any::<bool>()) {
        let all: Vec<Signal> = Signal::all().collect();
        let signal = all[index % all.len()];
        let name = signal.name();
        let bare = name.strip_prefix("SIG").unwrap();
        for text in [name.to_owned(), bare.to_owned(), signal.number().to_string()] {
            let text = if lower { text.to_lowercase() } else { text };
            prop_assert_eq!(text.parse::<Signal>().unwrap(), signal);
        }
    }

    #[test]
    fn decoding_arbitrary_siginfo_bytes_never_panics(bytes in prop::array::uniform32(any::<[u8; 4]>())) {
        let mut raw = [0u8; 128];
        for (chunk, word) in raw.chunks_exact_mut(4).zip(bytes) {
            chunk.copy_from_slice(&word);
        }
        let code = i32::from_ne_bytes(bytes[2]);
        let origin = Origin::from_siginfo_bytes(&raw);
        let signo = i32::from_ne_bytes(bytes[0]);
        // Only what the kernel alone can cause reads as the kernel or a child.
        let fault = [4, 5, 7, 8, 11, 31].contains(&signo) && code > 0;
        match origin {
            Origin::Kernel => prop_assert!(
                fault || (code == 0x80 && signo != libc::SIGIO && signo != libc::SIGURG)
            ),
            Origin::Child { .. } => prop_assert!(signo == 17 && (1..=6).contains(&code)),
            Origin::Io { .. } => prop_assert!(
                (1..=6).contains(&code) || code == -5 || code == 0x80
            ),
            Origin::Other { code: c, .. } => prop_assert_eq!(c, code),
            _ => prop_assert!([0, -1, -2, -6, i32::MIN].contains(&code)),
        }
        let _ = origin.to_string();
    }
}
