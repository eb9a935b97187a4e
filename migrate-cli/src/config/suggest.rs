//! Finds the valid name nearest to a misspelt one, for "did you mean" hints.

/// Returns the candidate closest to `name` by edit distance, if it is close
/// enough to be a plausible misspelling (at most 3 edits, and fewer than half
/// the length of the longer name).
pub(super) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (levenshtein(name, candidate), candidate))
        .filter(|&(distance, candidate)| {
            let longer = name.chars().count().max(candidate.chars().count());
            distance <= 3 && distance * 2 < longer
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// The number of single-character insertions, deletions and substitutions
/// that turn `a` into `b`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the dynamic-programming table is enough: `row[j]` holds the
    // distance between the prefix of `a` read so far and `b[..j]`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, b_char) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(a_char != *b_char);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("lock_timout", "lock_timeout"), 1);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
    }

    #[test]
    fn nearest_picks_the_closest_plausible_candidate() {
        let keys = ["lock_wait", "lock_timeout", "lock_retries"];
        assert_eq!(nearest("lock_timout", keys), Some("lock_timeout"));
        assert_eq!(nearest("lock_retry", keys), Some("lock_retries"));
        assert_eq!(nearest("colour", keys), None);
    }

    #[test]
    fn nearest_does_not_suggest_for_short_unrelated_names() {
        assert_eq!(nearest("xyz", ["dir", "url"]), None);
        assert_eq!(nearest("kep", ["keep", "dir"]), Some("keep"));
    }
}
