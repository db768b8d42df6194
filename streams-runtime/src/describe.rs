//! `describe()`: the text of Java's `TopologyDescription` and a Mermaid diagram, computed from
//! a topology's static node specs. Sub-topologies are the connected components of the graph,
//! where processors sharing a store are connected too (as in Java).

use crate::topology::{NodeSpec, NodeSpecKind, TopologyDescription};
use std::fmt::Write;

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

fn stores(node: &NodeSpec) -> &'static [crate::state::StoreField] {
    match node.kind {
        NodeSpecKind::Processor { stores } => stores,
        _ => &[],
    }
}

/// Node indices per sub-topology, sub-topologies numbered by their first declared node.
pub(crate) fn subtopologies(nodes: &[NodeSpec]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    for (i, n) in nodes.iter().enumerate() {
        for &p in n.parents {
            union(&mut parent, i, p);
        }
        for (j, m) in nodes.iter().enumerate().take(i) {
            if stores(n).iter().any(|s| stores(m).iter().any(|t| t.name == s.name)) {
                union(&mut parent, i, j);
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..nodes.len() {
        let root = find(&mut parent, i);
        match groups.iter_mut().find(|(r, _)| *r == root) {
            Some((_, members)) => members.push(i),
            None => groups.push((root, vec![i])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

fn children(nodes: &[NodeSpec], i: usize) -> Vec<usize> {
    (0..nodes.len()).filter(|&c| nodes[c].parents.contains(&i)).collect()
}

/// The number of nodes reachable from `i`, itself included (Java orders nodes by it).
fn subtree_size(nodes: &[NodeSpec], i: usize) -> usize {
    let mut seen = vec![false; nodes.len()];
    let mut stack = vec![i];
    let mut count = 0;
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut seen[n], true) {
            count += 1;
            stack.extend(children(nodes, n));
        }
    }
    count
}

/// Java's `NodeComparator`: larger sub-tree first, then name. It orders the nodes of a
/// sub-topology and each node's successor and predecessor lists.
fn node_order(nodes: &[NodeSpec], a: usize, b: usize) -> std::cmp::Ordering {
    subtree_size(nodes, b)
        .cmp(&subtree_size(nodes, a))
        .then_with(|| nodes[a].name.cmp(nodes[b].name))
}

fn names(nodes: &[NodeSpec], indices: &[usize]) -> String {
    if indices.is_empty() {
        return "none".to_owned();
    }
    let mut sorted = indices.to_vec();
    sorted.sort_by(|&a, &b| node_order(nodes, a, b));
    sorted.iter().map(|&i| nodes[i].name).collect::<Vec<_>>().join(", ")
}

fn mermaid_id(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{clean}")
}

/// Describes a topology from its node specs; a sub-topology holding a source of `sources` marked
/// global is a global store's (Java's "for global store" section).
pub(crate) fn describe(nodes: &[NodeSpec], sources: &[crate::topology::SourceSpec]) -> TopologyDescription {
    let subs = subtopologies(nodes);
    let mut text = String::from("Topologies:\n");
    let mut mermaid = String::from("flowchart TD\n");
    let mut edges = String::new();
    let mut stores_seen: Vec<&str> = Vec::new();
    for (id, members) in subs.iter().enumerate() {
        // Java's layout: "Topologies:\n " then two spaces before each sub-topology.
        let indent = if id == 0 { "   " } else { "  " };
        let global = members
            .iter()
            .any(|&i| sources.iter().any(|s| s.global && s.name == nodes[i].name));
        let suffix = if global {
            " for global store (will not generate tasks)"
        } else {
            ""
        };
        let _ = writeln!(text, "{indent}Sub-topology: {id}{suffix}");
        let _ = writeln!(mermaid, "    subgraph sub_{id} [\"Sub-topology: {id}\"]");
        let mut ordered = members.clone();
        ordered.sort_by(|&a, &b| node_order(nodes, a, b));
        for &i in &ordered {
            let n = &nodes[i];
            let kids = children(nodes, i);
            let node_id = mermaid_id("n", n.name);
            match n.kind {
                NodeSpecKind::Source { topics } => {
                    let _ = writeln!(text, "    Source: {} (topics: [{}])", n.name, topics.join(", "));
                    let _ = writeln!(text, "      --> {}", names(nodes, &kids));
                    let _ = writeln!(mermaid, "        {node_id}[\"Source: {}\"]", n.name);
                    for t in topics {
                        let _ = writeln!(edges, "    {}[/\"{t}\"/] --> {node_id}", mermaid_id("t", t));
                    }
                }
                NodeSpecKind::Processor { stores } => {
                    let store_names: Vec<_> = stores.iter().map(|s| s.name).collect();
                    let _ = writeln!(text, "    Processor: {} (stores: [{}])", n.name, store_names.join(", "));
                    let _ = writeln!(text, "      --> {}", names(nodes, &kids));
                    let _ = writeln!(text, "      <-- {}", names(nodes, n.parents));
                    let _ = writeln!(mermaid, "        {node_id}[\"Processor: {}\"]", n.name);
                    for s in store_names {
                        let store_id = mermaid_id("s", s);
                        if !stores_seen.contains(&s) {
                            stores_seen.push(s);
                            let _ = writeln!(edges, "    {store_id}[(\"{s}\")]");
                        }
                        let _ = writeln!(edges, "    {node_id} -.- {store_id}");
                    }
                }
                NodeSpecKind::SinkPerRecord => {
                    let _ = writeln!(text, "    Sink: {} (extractor: topic chosen per record)", n.name);
                    let _ = writeln!(text, "      <-- {}", names(nodes, n.parents));
                    let _ = writeln!(mermaid, "        {node_id}[\"Sink: {}\"]", n.name);
                }
                NodeSpecKind::Sink { topic, .. } => {
                    let _ = writeln!(text, "    Sink: {} (topic: {})", n.name, topic);
                    let _ = writeln!(text, "      <-- {}", names(nodes, n.parents));
                    let _ = writeln!(mermaid, "        {node_id}[\"Sink: {}\"]", n.name);
                    let _ = writeln!(edges, "    {node_id} --> {}[/\"{topic}\"/]", mermaid_id("t", topic));
                }
            }
            for &c in &kids {
                let _ = writeln!(edges, "    {node_id} --> {}", mermaid_id("n", nodes[c].name));
            }
        }
        text.push('\n');
        mermaid.push_str("    end\n");
    }
    mermaid.push_str(&edges);
    TopologyDescription {
        text,
        mermaid,
        subtopologies: subs,
    }
}
