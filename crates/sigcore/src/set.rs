use std::fmt;

use crate::Signal;

/// A set of signals: a 64-bit mask, `Copy`, with the usual set operations, also
/// as operators (`|` union, `&` intersection, `-` difference); `Signal | Signal`
/// makes a set. Every function that takes a set also takes a single signal.
///
/// ```
/// use sigcore::{Signal, SignalSet};
///
/// let set = Signal::USR1 | Signal::HUP;
/// assert!(set.contains(Signal::USR1));
/// assert_eq!(set.len(), 2);
/// assert_eq!((set | Signal::TERM).len(), 3);
/// assert_eq!(set - Signal::HUP, SignalSet::from(Signal::USR1));
/// let collected: SignalSet = [Signal::USR1, Signal::HUP].into_iter().collect();
/// assert_eq!(collected, set);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The empty set.
    pub const fn empty() -> SignalSet {
        SignalSet(0)
    }

    /// Every valid signal of this system (see [`Signal::all`]).
    pub fn all() -> SignalSet {
        Signal::all().collect()
    }

    /// Every signal a waiter can serve, so every one a registration or a bus
    /// subscription may take: [`SignalSet::all`] without SIGKILL, SIGSTOP, the
    /// fault signals and sigcore's reserved wake signal (see
    /// [`Signal::check_waitable`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::{Signal, SignalSet};
    ///
    /// let servable = SignalSet::waitable();
    /// assert!(servable.contains(Signal::TERM));
    /// assert!(!servable.contains(Signal::KILL) && !servable.contains(Signal::SEGV));
    /// ```
    pub fn waitable() -> SignalSet {
        Signal::all()
            .filter(|s| s.check_waitable().is_ok())
            .collect()
    }

    /// Builds a set from its bit mask (bit `n - 1` stands for signal `n`), keeping
    /// only bits of valid signals.
    pub fn from_bits(bits: u64) -> SignalSet {
        SignalSet(bits & SignalSet::all().0)
    }

    /// The bit mask: bit `n - 1` stands for signal `n`, as in `/proc/PID/status`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Adds a signal; returns whether it was absent.
    pub fn insert(&mut self, signal: Signal) -> bool {
        let absent = !self.contains(signal);
        self.0 |= bit(signal);
        absent
    }

    /// Removes a signal; returns whether it was present.
    pub fn remove(&mut self, signal: Signal) -> bool {
        let present = self.contains(signal);
        self.0 &= !bit(signal);
        present
    }

    /// Whether the set holds `signal`.
    pub const fn contains(self, signal: Signal) -> bool {
        self.0 & bit(signal) != 0
    }

    /// Signals in either set.
    pub const fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }

    /// Signals in both sets.
    pub const fn intersection(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & other.0)
    }

    /// Signals in `self` but not in `other`.
    pub const fn difference(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & !other.0)
    }

    /// Whether every signal of `self` is in `other`.
    pub const fn is_subset(self, other: SignalSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many signals the set holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The signals, lowest number first.
    pub fn iter(self) -> Iter {
        Iter(self.0)
    }
}

const fn bit(signal: Signal) -> u64 {
    1u64 << (signal.number() - 1)
}

/// Iterator over a [`SignalSet`], lowest number first.
#[derive(Clone, Debug)]
pub struct Iter(u64);

impl Iterator for Iter {
    type Item = Signal;

    fn next(&mut self) -> Option<Signal> {
        if self.0 == 0 {
            return None;
        }
        let index = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(Signal::from_valid(index as i32 + 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter {}

impl IntoIterator for SignalSet {
    type Item = Signal;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

impl FromIterator<Signal> for SignalSet {
    fn from_iter<I: IntoIterator<Item = Signal>>(iter: I) -> SignalSet {
        let mut set = SignalSet::empty();
        set.extend(iter);
        set
    }
}

impl Extend<Signal> for SignalSet {
    fn extend<I: IntoIterator<Item = Signal>>(&mut self, iter: I) {
        for signal in iter {
            self.insert(signal);
        }
    }
}

impl From<Signal> for SignalSet {
    fn from(signal: Signal) -> SignalSet {
        SignalSet(bit(signal))
    }
}

impl<const N: usize> From<[Signal; N]> for SignalSet {
    fn from(signals: [Signal; N]) -> SignalSet {
        signals.into_iter().collect()
    }
}

impl From<&[Signal]> for SignalSet {
    fn from(signals: &[Signal]) -> SignalSet {
        signals.iter().copied().collect()
    }
}

impl fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, signal) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{signal}")?;
        }
        Ok(())
    }
}

impl std::ops::BitOr for SignalSet {
    type Output = SignalSet;
    fn bitor(self, other: SignalSet) -> SignalSet {
        self.union(other)
    }
}

impl std::ops::BitOr<Signal> for SignalSet {
    type Output = SignalSet;
    fn bitor(self, other: Signal) -> SignalSet {
        self.union(other.into())
    }
}

impl std::ops::BitOr for Signal {
    type Output = SignalSet;
    fn bitor(self, other: Signal) -> SignalSet {
        SignalSet::from(self).union(other.into())
    }
}

impl std::ops::BitOr<SignalSet> for Signal {
    type Output = SignalSet;
    fn bitor(self, other: SignalSet) -> SignalSet {
        other.union(self.into())
    }
}

impl std::ops::BitAnd for SignalSet {
    type Output = SignalSet;
    fn bitand(self, other: SignalSet) -> SignalSet {
        self.intersection(other)
    }
}

impl std::ops::Sub for SignalSet {
    type Output = SignalSet;
    fn sub(self, other: SignalSet) -> SignalSet {
        self.difference(other)
    }
}

impl std::ops::Sub<Signal> for SignalSet {
    type Output = SignalSet;
    fn sub(self, other: Signal) -> SignalSet {
        self.difference(other.into())
    }
}

impl std::ops::BitOrAssign for SignalSet {
    fn bitor_assign(&mut self, other: SignalSet) {
        *self = self.union(other);
    }
}

impl std::ops::BitOrAssign<Signal> for SignalSet {
    fn bitor_assign(&mut self, other: Signal) {
        self.insert(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_match_their_names() {
        let a = SignalSet::from([Signal::USR1, Signal::USR2]);
        let b = SignalSet::from([Signal::USR2, Signal::HUP]);
        assert_eq!(
            a.union(b),
            SignalSet::from([Signal::USR1, Signal::USR2, Signal::HUP])
        );
        assert_eq!(a.intersection(b), SignalSet::from(Signal::USR2));
        assert_eq!(a.difference(b), SignalSet::from(Signal::USR1));
        assert!(SignalSet::from(Signal::USR2).is_subset(a));
        assert!(!a.is_subset(b));
    }

    #[test]
    fn iteration_is_lowest_number_first() {
        let set = SignalSet::from([Signal::TERM, Signal::HUP, Signal::rtmax()]);
        let numbers: Vec<i32> = set.iter().map(Signal::number).collect();
        assert_eq!(numbers, vec![1, 15, Signal::rtmax().number()]);
    }

    #[test]
    fn insert_and_remove_report_change() {
        let mut set = SignalSet::empty();
        assert!(set.insert(Signal::INT));
        assert!(!set.insert(Signal::INT));
        assert!(set.remove(Signal::INT));
        assert!(!set.remove(Signal::INT));
        assert!(set.is_empty());
    }

    #[test]
    fn bits_match_proc_status_layout() {
        // /proc/PID/status shows SIGHUP (1) as bit 0 and SIGUSR1 (10) as bit 9.
        assert_eq!(SignalSet::from([Signal::HUP, Signal::USR1]).bits(), 0x201);
        // Bits of reserved or unused numbers are dropped.
        assert_eq!(SignalSet::from_bits(1 << 31).bits(), 0);
    }
}
