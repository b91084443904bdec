//! `*`/`?` matching in time linear in the text (issue 22.4): IAM's StringLike
//! and Action wildcards (`*` any run of characters, also none; `?` exactly one;
//! IAM User Guide, "Condition operators": String condition operators).
//!
//! The textbook backtracking matcher is quadratic (`*a*a*a…b` against `aaaa…`
//! runs |pattern| × |text| steps), so a policy of a few KiB and a long claim
//! could keep `check-trust` busy for minutes. Here the pattern is cut at its
//! stars into star-free segments: the first must match at the start of the
//! text, the last at the end, and each one between at its leftmost place after
//! the one before (taking the leftmost place never loses a match: whatever
//! followed a later place also follows an earlier one). Each segment is found
//! with the bit-parallel Shift-And scan, whose scans never overlap, so the work
//! is one pass over the text costing ⌈segment length / 64⌉ machine words per
//! character: linear for every segment up to 64 characters, and
//! |text| × |pattern| / 64 at worst.

use std::collections::HashMap;

#[cfg(test)]
thread_local! {
    /// Characters examined, for the test that proves the cost linear.
    static STEPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn step(n: usize) {
    #[cfg(test)]
    STEPS.with(|s| s.set(s.get() + n));
    let _ = n;
}

/// One element of a pattern after policy variables are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Lit(char),
    /// `*`: any run of characters, also none.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Whether `text` matches `pattern` as a whole.
pub fn matches(pattern: &[Tok], text: &[char]) -> bool {
    let star = |t: &Tok| *t == Tok::Star;
    let Some(first_star) = pattern.iter().position(star) else {
        return pattern.len() == text.len() && matches_at(pattern, text, 0);
    };
    let last_star = pattern.iter().rposition(star).unwrap_or(first_star);
    let (first, last) = (&pattern[..first_star], &pattern[last_star + 1..]);
    if first.len() + last.len() > text.len() {
        return false;
    }
    let end = text.len() - last.len();
    if !matches_at(first, text, 0) || !matches_at(last, text, end) {
        return false;
    }
    let mut at = first.len();
    for segment in pattern[first_star + 1..last_star.max(first_star + 1)].split(star) {
        if segment.is_empty() {
            continue;
        }
        match find(segment, &text[at..end]) {
            Some(start) => at += start + segment.len(),
            None => return false,
        }
    }
    true
}

/// A star-free segment matches `text` at `at`.
fn matches_at(segment: &[Tok], text: &[char], at: usize) -> bool {
    step(segment.len());
    text.len() >= at + segment.len()
        && segment.iter().zip(&text[at..]).all(|(t, c)| match t {
            Tok::Lit(l) => l == c,
            Tok::One | Tok::Star => true,
        })
}

/// Which positions of a segment each character may take, for Shift-And. A
/// character frequent in the segment keeps a whole bit mask; a rare one only
/// its positions, set into a scratch mask when it is read. So memory stays
/// linear in the segment (a mask per distinct character would be quadratic).
struct Masks {
    words: usize,
    /// Positions of `?`: every character may take them.
    any: Vec<u64>,
    dense: HashMap<char, Vec<u64>>,
    sparse: HashMap<char, Vec<usize>>,
    scratch: Vec<u64>,
}

/// A character seen this often in a segment gets a whole mask.
const DENSE_FROM: usize = 64;

impl Masks {
    fn new(segment: &[Tok]) -> Masks {
        let words = segment.len().div_ceil(64);
        let mut any = vec![0u64; words];
        let mut positions: HashMap<char, Vec<usize>> = HashMap::new();
        for (j, t) in segment.iter().enumerate() {
            match t {
                Tok::One => any[j / 64] |= 1 << (j % 64),
                Tok::Lit(c) => positions.entry(*c).or_default().push(j),
                Tok::Star => {}
            }
        }
        let (mut dense, mut sparse) = (HashMap::new(), HashMap::new());
        for (c, at) in positions {
            if at.len() >= DENSE_FROM {
                let mut mask = any.clone();
                for j in at {
                    mask[j / 64] |= 1 << (j % 64);
                }
                dense.insert(c, mask);
            } else {
                sparse.insert(c, at);
            }
        }
        Masks {
            words,
            scratch: any.clone(),
            any,
            dense,
            sparse,
        }
    }

    fn of(&mut self, c: char) -> &[u64] {
        if let Some(mask) = self.dense.get(&c) {
            return mask;
        }
        let Some(at) = self.sparse.get(&c) else {
            return &self.any;
        };
        self.scratch.copy_from_slice(&self.any);
        for j in at {
            self.scratch[j / 64] |= 1 << (j % 64);
        }
        &self.scratch
    }
}

/// The leftmost start of a star-free, non-empty segment in `text` (Shift-And:
/// bit j of the state says "the segment's first j+1 elements end here").
fn find(segment: &[Tok], text: &[char]) -> Option<usize> {
    let len = segment.len();
    if len > text.len() {
        return None;
    }
    let mut masks = Masks::new(segment);
    let words = masks.words;
    let top = (len - 1) % 64;
    let mut state = vec![0u64; words];
    for (i, c) in text.iter().enumerate() {
        step(words);
        let mask = masks.of(*c);
        // state = ((state << 1) | 1) & mask, across words.
        let mut carry = 1u64;
        for (w, m) in state.iter_mut().zip(mask) {
            let next_carry = *w >> 63;
            *w = ((*w << 1) | carry) & m;
            carry = next_carry;
        }
        if (state[words - 1] >> top) & 1 == 1 {
            return Some(i + 1 - len);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(p: &str) -> Vec<Tok> {
        p.chars()
            .map(|c| match c {
                '*' => Tok::Star,
                '?' => Tok::One,
                c => Tok::Lit(c),
            })
            .collect()
    }

    /// The obvious exponential-free reference: dynamic programming over
    /// (pattern position, text position).
    fn reference(p: &[Tok], t: &[char]) -> bool {
        let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
        dp[0][0] = true;
        for i in 1..=p.len() {
            for j in 0..=t.len() {
                dp[i][j] = match p[i - 1] {
                    Tok::Star => dp[i - 1][j] || (j > 0 && dp[i][j - 1]),
                    Tok::One => j > 0 && dp[i - 1][j - 1],
                    Tok::Lit(c) => j > 0 && t[j - 1] == c && dp[i - 1][j - 1],
                };
            }
        }
        dp[p.len()][t.len()]
    }

    #[test]
    fn agrees_with_the_reference() {
        let patterns = [
            "", "*", "**", "?", "a", "a*", "*a", "*a*", "a*b*c", "a?c", "*?", "?*?", "ab*ab",
            "*aa*a", "a**b", "*ab?*ba*", "x*", "*x*y*",
        ];
        let alphabet = ['a', 'b', 'c'];
        let mut texts = vec![String::new()];
        for len in 1..=6 {
            let mut n = 0usize;
            while n < alphabet.len().pow(len) {
                let mut k = n;
                let s: String = (0..len)
                    .map(|_| {
                        let c = alphabet[k % 3];
                        k /= 3;
                        c
                    })
                    .collect();
                texts.push(s);
                n += 1;
            }
        }
        for p in patterns {
            let pt = toks(p);
            for t in &texts {
                let tc: Vec<char> = t.chars().collect();
                assert_eq!(matches(&pt, &tc), reference(&pt, &tc), "{p:?} vs {t:?}");
            }
        }
    }

    /// The inputs that made the backtracking matcher quadratic (issue 22.4)
    /// cost a number of steps linear in pattern plus text here.
    #[test]
    fn adversarial_patterns_cost_linear_steps() {
        let text: Vec<char> = "a".repeat(20_000).chars().collect();
        for pattern in [
            format!("{}b", "*a".repeat(5_000)),
            format!("*{}b*", "a".repeat(60)),
            format!("*{}?b", "a?".repeat(30)),
        ] {
            let p = toks(&pattern);
            STEPS.with(|s| s.set(0));
            assert!(!matches(&p, &text), "{pattern}");
            let steps = STEPS.with(|s| s.get());
            assert!(
                steps <= 2 * (p.len() + text.len()),
                "{steps} steps for a {}-element pattern and {} characters",
                p.len(),
                text.len()
            );
        }
    }

    #[test]
    fn long_segments_cross_word_boundaries() {
        let seg: String = (0..150)
            .map(|i| if i % 7 == 0 { '?' } else { 'x' })
            .collect();
        let text = format!("{}{}y", "x".repeat(300), "x".repeat(150));
        let p = toks(&format!("*{seg}y"));
        let t: Vec<char> = text.chars().collect();
        assert!(matches(&p, &t));
        assert_eq!(matches(&p, &t), reference(&p, &t));
        let p = toks(&format!("*{seg}z*"));
        assert!(!matches(&p, &t));
    }
}
