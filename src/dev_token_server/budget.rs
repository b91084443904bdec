//! `--max-requests`: how many tokens the server signs before it stops.
//!
//! Only token requests that carry the right request token count. Counting every
//! connection (as before) let anyone on the machine stop the server in
//! milliseconds without knowing that token; unauthenticated and malformed
//! requests are bounded instead by the cap on concurrent connections and the
//! per-connection time limit.

use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

/// The tokens left to sign, shared by every connection handler.
pub struct Budget {
    max: u64,
    granted: AtomicU64,
    spent: Notify,
}

/// What one authenticated token request may do.
#[derive(Debug, PartialEq)]
pub enum Grant {
    /// Sign it; more may follow.
    Sign,
    /// Sign it; it is the last one, so the server stops after answering.
    SignLast,
    /// Refuse it: the budget was spent by earlier requests.
    Spent,
}

impl Budget {
    pub fn new(max: u64) -> Budget {
        Budget {
            max,
            granted: AtomicU64::new(0),
            spent: Notify::new(),
        }
    }

    /// Takes one token from the budget (call only after the bearer matched).
    pub fn take(&self) -> Grant {
        let n = self.granted.fetch_add(1, Ordering::SeqCst) + 1;
        match n.cmp(&self.max) {
            std::cmp::Ordering::Less => Grant::Sign,
            std::cmp::Ordering::Equal => {
                // notify_one keeps the wake-up if the accept loop is not waiting yet.
                self.spent.notify_one();
                Grant::SignLast
            }
            std::cmp::Ordering::Greater => Grant::Spent,
        }
    }

    /// Tokens granted so far (at most `max`).
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::SeqCst).min(self.max)
    }

    /// Resolves once the last token has been granted.
    pub async fn spent(&self) {
        self.spent.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn grants_exactly_max_then_refuses_and_wakes_the_loop() {
        let b = Budget::new(2);
        assert_eq!(b.take(), Grant::Sign);
        assert_eq!(b.take(), Grant::SignLast);
        assert_eq!(b.take(), Grant::Spent);
        assert_eq!(b.granted(), 2);
        // The wake-up was stored although nothing waited when it was given.
        tokio::time::timeout(std::time::Duration::from_secs(1), b.spent())
            .await
            .expect("spent() did not resolve");
    }
}
