//! Acknowledgements on one consumer channel, folded into as few frames as possible.
//!
//! Each acknowledgement costs RabbitMQ work: for a quorum queue every `basic.ack` becomes a
//! Raft command of its own, while one `basic.ack` with `multiple` settles every delivery up
//! to its tag in one command. The consumer runtime settles a batch's deliveries one by one
//! (and up to four batches at once), so the book keeps each acknowledgement back while an
//! older delivery of the channel is still unsettled, and sends one `multiple` acknowledgement
//! when the oldest one is settled; the runtime therefore acknowledges a batch newest first.
//! A `multiple` frame is sent only up to a tag below every unsettled delivery, so it never
//! acknowledges a delivery the hub has not finished.
//!
//! An acknowledgement is kept back for at most [`LONGEST_DEFERRAL`]: a slow or held delivery
//! must not keep the ones after it (and with them the prefetch window) waiting, so after
//! that the waiting ones are sent one by one, as they would have been without the book.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How long an acknowledgement may wait for the older deliveries to be settled.
pub const LONGEST_DEFERRAL: Duration = Duration::from_millis(30);

/// A frame to send, in the order given.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<A> {
    /// `basic.ack` with `multiple`: this delivery and every older one still unacknowledged.
    AckUpTo(A),
    /// `basic.ack` of this delivery alone.
    Ack(A),
    /// `basic.nack` with `requeue` of this delivery alone.
    Requeue(A),
}

/// What is unsettled and what waits to be acknowledged on one channel, by delivery tag.
/// `A` is the handle that sends a frame for one delivery (lapin's `Acker`).
#[derive(Debug)]
pub struct AckBook<A> {
    /// Delivered to the hub, neither acknowledged nor requeued by it yet.
    unsettled: BTreeSet<u64>,
    /// Acknowledged by the hub, not sent yet; since when.
    deferred: BTreeMap<u64, (A, Instant)>,
}

impl<A> Default for AckBook<A> {
    fn default() -> Self {
        AckBook {
            unsettled: BTreeSet::new(),
            deferred: BTreeMap::new(),
        }
    }
}

impl<A> AckBook<A> {
    /// A new delivery (tags increase on a channel).
    pub fn delivered(&mut self, tag: u64) {
        self.unsettled.insert(tag);
    }

    /// The hub is done with a delivery: returns what to send now (possibly nothing yet).
    pub fn ack(&mut self, tag: u64, acker: A, now: Instant) -> Vec<Frame<A>> {
        self.unsettled.remove(&tag);
        self.deferred.insert(tag, (acker, now));
        self.covered().into_iter().collect()
    }

    /// The delivery goes back to the queue: its `nack` at once, then whatever waited for it.
    pub fn requeue(&mut self, tag: u64, acker: A) -> Vec<Frame<A>> {
        self.unsettled.remove(&tag);
        let mut frames = vec![Frame::Requeue(acker)];
        frames.extend(self.covered());
        frames
    }

    /// The acknowledgements kept back since `cutoff` or earlier, sent now, one frame each
    /// (an unsettled delivery precedes them, so no `multiple` frame can cover them).
    pub fn flush(&mut self, cutoff: Instant) -> Vec<Frame<A>> {
        let due: Vec<u64> = self
            .deferred
            .iter()
            .filter(|(_, (_, since))| *since <= cutoff)
            .map(|(tag, _)| *tag)
            .collect();
        due.into_iter()
            .filter_map(|tag| self.deferred.remove(&tag))
            .map(|(acker, _)| Frame::Ack(acker))
            .collect()
    }

    /// Whether some acknowledgement waits.
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Since when the longest-waiting acknowledgement waits, if one does.
    pub fn oldest_deferral(&self) -> Option<Instant> {
        self.deferred.values().map(|(_, since)| *since).min()
    }

    /// One `multiple` frame for the deferred acknowledgements older than every unsettled
    /// delivery, if there are any.
    fn covered(&mut self) -> Option<Frame<A>> {
        let oldest_deferred = *self.deferred.keys().next()?;
        let newer = match self.unsettled.first() {
            // Mostly so (an older delivery of the batch is unsettled): nothing is covered,
            // and the map need not be split.
            Some(&oldest_unsettled) if oldest_unsettled < oldest_deferred => return None,
            Some(&oldest_unsettled) => self.deferred.split_off(&oldest_unsettled),
            None => BTreeMap::new(),
        };
        let covered = std::mem::replace(&mut self.deferred, newer);
        covered
            .into_values()
            .next_back()
            .map(|(acker, _)| Frame::AckUpTo(acker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Clock(Instant);

    impl Clock {
        fn at(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
    }

    fn book(tags: std::ops::RangeInclusive<u64>) -> (AckBook<u64>, Clock) {
        let mut book = AckBook::default();
        tags.for_each(|t| book.delivered(t));
        (book, Clock(Instant::now()))
    }

    #[test]
    fn a_batch_acknowledged_newest_first_is_one_multiple_frame() {
        let (mut book, clock) = book(1..=5);
        for tag in (2..=5).rev() {
            assert_eq!(
                book.ack(tag, tag, clock.at(0)),
                vec![],
                "tag {tag} waits for tag 1"
            );
        }
        assert!(book.oldest_deferral().is_some());
        assert_eq!(book.ack(1, 1, clock.at(1)), vec![Frame::AckUpTo(5)]);
        assert_eq!(book.oldest_deferral(), None);
    }

    #[test]
    fn acknowledged_oldest_first_each_goes_at_once() {
        let (mut book, clock) = book(1..=3);
        for tag in 1..=3 {
            assert_eq!(book.ack(tag, tag, clock.at(0)), vec![Frame::AckUpTo(tag)]);
        }
    }

    #[test]
    fn a_later_batch_waits_for_the_older_one_and_goes_with_it() {
        let (mut book, clock) = book(1..=6);
        for tag in (4..=6).rev() {
            assert_eq!(book.ack(tag, tag, clock.at(0)), vec![]);
        }
        assert_eq!(book.ack(3, 3, clock.at(5)), vec![]);
        assert_eq!(book.ack(2, 2, clock.at(5)), vec![]);
        // The oldest settles last: one frame covers all six.
        assert_eq!(book.ack(1, 1, clock.at(5)), vec![Frame::AckUpTo(6)]);
    }

    #[test]
    fn never_acknowledges_past_an_unsettled_delivery() {
        let (mut book, clock) = book(1..=6);
        assert_eq!(book.ack(1, 1, clock.at(0)), vec![Frame::AckUpTo(1)]);
        assert_eq!(book.ack(2, 2, clock.at(0)), vec![Frame::AckUpTo(2)]);
        assert_eq!(book.ack(4, 4, clock.at(0)), vec![]);
        assert_eq!(book.ack(6, 6, clock.at(10)), vec![]);
        assert_eq!(book.oldest_deferral(), Some(clock.at(0)));
        // 3 and 5 still unsettled: only what waited long enough goes, alone.
        assert_eq!(book.flush(clock.at(0)), vec![Frame::Ack(4)]);
        assert_eq!(book.oldest_deferral(), Some(clock.at(10)));
        assert_eq!(book.ack(3, 3, clock.at(20)), vec![Frame::AckUpTo(3)]);
        assert_eq!(book.ack(5, 5, clock.at(20)), vec![Frame::AckUpTo(6)]);
        assert_eq!(book.flush(clock.at(100)), vec![]);
    }

    #[test]
    fn a_requeue_goes_alone_and_releases_what_waited_behind_it() {
        let (mut book, clock) = book(1..=4);
        assert_eq!(book.ack(3, 3, clock.at(0)), vec![]);
        assert_eq!(book.ack(2, 2, clock.at(0)), vec![]);
        assert_eq!(
            book.requeue(1, 1),
            vec![Frame::Requeue(1), Frame::AckUpTo(3)]
        );
        assert_eq!(book.requeue(4, 4), vec![Frame::Requeue(4)]);
        assert_eq!(book.oldest_deferral(), None);
    }
}
