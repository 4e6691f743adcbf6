//! User names from `/etc/passwd`, for `inspect`'s owner column. Only the local
//! file is read (no NSS, no new dependency): a uid it does not list shows as a
//! number alone.

use std::collections::HashMap;
use std::fs;
use std::sync::OnceLock;

/// The name of `uid` in `/etc/passwd`, if listed.
pub fn name(uid: u32) -> Option<&'static str> {
    static USERS: OnceLock<HashMap<u32, String>> = OnceLock::new();
    USERS
        .get_or_init(|| parse(&fs::read_to_string("/etc/passwd").unwrap_or_default()))
        .get(&uid)
        .map(String::as_str)
}

/// `name:password:uid:...` lines; the first name listed for a uid wins, as in
/// getpwuid(3). Comments and malformed lines are skipped.
fn parse(text: &str) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let (false, Ok(uid)) = (name.is_empty(), uid.parse()) {
            users.entry(uid).or_insert_with(|| name.to_owned());
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_passwd_lines() {
        let users = parse(
            "root:x:0:0:root:/root:/bin/bash\n# a comment\nbroken\n\
             nobody:x:65534:65534::/:/sbin/nologin\ntoor:x:0:0::/:/bin/sh\n:x:7:7::/:\n",
        );
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(users.len(), 2);
    }
}
