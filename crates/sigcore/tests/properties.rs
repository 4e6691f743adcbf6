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
        let known = [0, -1, -2, -6, 0x80];
        let child = i32::from_ne_bytes(bytes[0]) == 17 && (1..=6).contains(&code);
        if !known.contains(&code) && !child && code != i32::MIN {
            prop_assert!(matches!(origin, Origin::Other { code: c, .. } if c == code), "{:?}", origin);
        }
        let _ = origin.to_string();
    }
}
