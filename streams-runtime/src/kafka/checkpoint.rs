//! Checkpoint files (Java's `OffsetCheckpoint`): after a commit, each task writes the changelog
//! offsets its stores have reached to `state.dir/<application.id>/<task>/.checkpoint`, so a
//! persistent store that survived restores only what came after.

use std::collections::HashMap;
use std::path::Path;

/// Reads a task's checkpoint: changelog topic → last offset in the local stores.
pub(crate) fn read(task_dir: &Path) -> HashMap<String, i64> {
    let Ok(text) = std::fs::read_to_string(task_dir.join(".checkpoint")) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let (topic, offset) = line.rsplit_once(' ')?;
            Some((topic.to_owned(), offset.parse().ok()?))
        })
        .collect()
}

/// Writes a task's checkpoint atomically (temporary file, then rename).
pub(crate) fn write(task_dir: &Path, offsets: &[(String, i64)]) -> std::io::Result<()> {
    let text: String = offsets.iter().map(|(t, o)| format!("{t} {o}\n")).collect();
    let tmp = task_dir.join(".checkpoint.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, task_dir.join(".checkpoint"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn checkpoints_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::read(dir.path()).is_empty());
        super::write(dir.path(), &[("app-counts-changelog".to_owned(), 41)]).unwrap();
        assert_eq!(super::read(dir.path()).get("app-counts-changelog"), Some(&41));
    }
}
