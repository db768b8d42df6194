//! "Did you mean" hints for names a user got wrong (settings, stores, topics).

/// `"; did you mean `x`?"` for the candidate closest to `name` when it is close enough, else
/// the list of candidates (`"; <what>: a, b"`), or nothing when there are none.
pub(crate) fn did_you_mean<'a>(name: &str, names: impl IntoIterator<Item = &'a str>, what: &str) -> String {
    let mut candidates: Vec<&str> = Vec::new();
    for n in names {
        if !candidates.contains(&n) {
            candidates.push(n);
        }
    }
    let close = candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= 2 + name.len() / 5)
        .min_by_key(|(d, _)| *d);
    match close {
        Some((_, c)) => format!("; did you mean `{c}`?"),
        None if candidates.is_empty() => String::new(),
        None => format!("; {what}: {}", candidates.join(", ")),
    }
}

/// Edit distance between two names.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_name_is_suggested_and_otherwise_the_candidates_are_listed() {
        assert_eq!(
            did_you_mean("coutns", ["counts", "totals"], "stores"),
            "; did you mean `counts`?"
        );
        assert_eq!(
            did_you_mean("xyz", ["counts", "totals"], "stores"),
            "; stores: counts, totals"
        );
        assert_eq!(did_you_mean("xyz", [], "stores"), "");
    }
}
