//! Finding where a key is written in a TOML file, for error messages about values that
//! parsed but do not make sense (a partition naming an unknown node type, say).
//!
//! The search reads table headers (`[a.b]`, `[[a]]`) and `key = value` lines, which is how
//! scenario files are written; a key it cannot find is reported at the
//! first line inside it (`cluster` when the file only has `[cluster.node_types.gpu]`), else
//! at the longest prefix of its path that it can find (its table), else at line 1.

/// The 1-based line holding byte `offset` of `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn clean_key(raw: &str) -> String {
    raw.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// The 1-based line where the dotted `key` is set (or its closest enclosing table).
pub fn line_of_key(text: &str, key: &str) -> usize {
    let mut table = String::new();
    let mut arrays: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut best = (0usize, 1usize); // (matched length, line)
                                     // The first line of a table or key inside `key`, for a key written only through them.
    let mut first_inside: Option<usize> = None;
    let mut consider = |path: &str, line: usize, best: &mut (usize, usize)| {
        if first_inside.is_none()
            && path.starts_with(key)
            && path
                .as_bytes()
                .get(key.len())
                .is_some_and(|&b| b == b'.' || b == b'[')
        {
            first_inside = Some(line);
        }
        if path == key {
            *best = (usize::MAX, line);
        } else if key.starts_with(path)
            && key.as_bytes().get(path.len()) == Some(&b'.')
            && path.len() > best.0
            && best.0 != usize::MAX
        {
            *best = (path.len(), line);
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let array = rest.starts_with('[');
            let inner = rest.trim_start_matches('[');
            if let Some(end) = inner.find(']') {
                table = clean_key(&inner[..end]);
                if array {
                    // The k-th `[[x]]` is element x[k], as serde names it.
                    let k = arrays.entry(table.clone()).or_insert(0);
                    table = format!("{table}[{k}]");
                    *k += 1;
                }
                consider(&table, i + 1, &mut best);
            }
            continue;
        }
        if let Some(eq) = line.find('=') {
            let k = clean_key(&line[..eq]);
            let path = if table.is_empty() {
                k
            } else {
                format!("{table}.{k}")
            };
            consider(&path, i + 1, &mut best);
        }
        if best.0 == usize::MAX {
            break;
        }
    }
    // A key written only through its sub-tables or elements is closer to them than to an
    // enclosing table.
    match (best.0, first_inside) {
        (usize::MAX, _) | (_, None) => best.1,
        (_, Some(line)) => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "seed = 3\n\n[cluster.node_types.gpu]\ncount = 4\n# note\nmig.profile = \"1g\"\n\n[cluster.partitions.\"batch\"]\nnode_types = [\"cpu\"]\n";

    #[test]
    fn keys_are_found_on_their_lines() {
        assert_eq!(line_of_key(TEXT, "seed"), 1);
        assert_eq!(line_of_key(TEXT, "cluster.node_types.gpu"), 3);
        assert_eq!(line_of_key(TEXT, "cluster.node_types.gpu.count"), 4);
        assert_eq!(line_of_key(TEXT, "cluster.node_types.gpu.mig.profile"), 6);
        assert_eq!(line_of_key(TEXT, "cluster.partitions.batch.node_types"), 9);
        let classes = "[[w.classes]]\nname = \"a\"\n[[w.classes]]\nname = \"b\"\nshare = 2\n";
        assert_eq!(line_of_key(classes, "w.classes[1].share"), 5);
        assert_eq!(line_of_key(classes, "w.classes[0].name"), 2);
        assert_eq!(
            line_of_key(&format!("[w]\nx = 1\n{classes}"), "w.classes"),
            3
        );
    }

    #[test]
    fn a_missing_key_points_at_its_table() {
        assert_eq!(line_of_key(TEXT, "cluster.node_types.gpu.cores"), 3);
        assert_eq!(line_of_key(TEXT, "workload"), 1);
        assert_eq!(line_of_key(TEXT, "cluster"), 3);
        assert_eq!(line_of_key(TEXT, "cluster.partitions"), 8);
        assert_eq!(line_at("a\nb\nc", 2), 2);
        assert_eq!(line_at("a\nb\nc", 99), 3);
    }
}
