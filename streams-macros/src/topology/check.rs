//! Checks `topology!` can make on its own input (DESIGN §4 items 6–9): names, parents, cycles,
//! topics and serdes. The checks that need the processors' own declarations run in the
//! generated code (see `expand`).

use super::dsl::{Op, OpDef};
use super::model::{NodeKind, TopologyDef};
use crate::ctxt::{Ctxt, suggestion};
use quote::ToTokens;
use std::collections::{HashMap, HashSet};
use syn::LitStr;

/// The resolved wiring of a valid topology.
pub struct Wiring {
    /// Parent indices of each node, in its `parents` order.
    pub parents: Vec<Vec<usize>>,
    /// Child indices of each node, in declaration order.
    pub children: Vec<Vec<usize>>,
    /// Node indices with every child before its parents.
    pub leaves_first: Vec<usize>,
}

/// Runs every check, recording errors in `cx`; the wiring when the graph could be resolved.
pub fn check(cx: &Ctxt, def: &TopologyDef) -> Option<Wiring> {
    check_names(cx, def);
    check_topics(cx, def);
    check_stores(cx, def);
    let parents = resolve_parents(cx, def)?;
    let leaves_first = order(cx, def, &parents)?;
    let mut children = vec![Vec::new(); def.nodes.len()];
    for (child, ps) in parents.iter().enumerate() {
        for &p in ps {
            if !children[p].contains(&child) {
                children[p].push(child);
            }
        }
    }
    if !def.nodes.iter().any(|n| n.is_source()) {
        cx.error_spanned_by(
            &def.name,
            format!("topology {} has no source; add `source name {{ topic: .. }}`", def.name),
        );
    }
    Some(Wiring {
        parents,
        children,
        leaves_first,
    })
}

fn check_names(cx: &Ctxt, def: &TopologyDef) {
    let mut seen = HashSet::new();
    for n in &def.nodes {
        if n.display.is_none() && n.name.to_string().starts_with("__") {
            cx.error_spanned_by(&n.name, "names starting with `__` are reserved for generated nodes");
        }
        if !seen.insert(n.name.to_string()) {
            cx.error_spanned_by(
                &n.name,
                format!("duplicate node name `{}` in topology {}", n.name, def.name),
            );
        }
    }
    let mut idents = HashSet::new();
    let mut names = HashSet::new();
    for s in &def.stores {
        if !idents.insert(s.ident.to_string()) {
            cx.error_spanned_by(
                &s.ident,
                format!("duplicate store `{}` in topology {}", s.ident, def.name),
            );
        } else if !names.insert(s.name.value()) {
            cx.error_spanned_by(
                &s.name,
                format!("duplicate store name \"{}\" in topology {}", s.name.value(), def.name),
            );
        }
    }
}

/// Kafka's topic name rule: 1..=249 of `[a-zA-Z0-9._-]`, and not `.` or `..`.
fn topic_name_problem(name: &str, max: usize) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".to_owned());
    }
    if name.len() > max {
        return Some(format!("is {} characters long; the limit is {max}", name.len()));
    }
    if name == "." || name == ".." {
        return Some("cannot be `.` or `..`".to_owned());
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .map(|c| format!("contains {c:?}; only ASCII letters, digits, '.', '_' and '-' are legal"))
}

fn check_topics(cx: &Ctxt, def: &TopologyDef) {
    let mut readers: HashMap<String, &syn::Ident> = HashMap::new();
    // topic -> (key serde, value serde, first use)
    let mut serdes: HashMap<String, (String, String, &LitStr)> = HashMap::new();
    let serde_of = |explicit: &Option<syn::Type>, ty: Option<&syn::Type>| match (explicit, ty) {
        (Some(s), _) => s.to_token_stream().to_string(),
        (None, Some(t)) => format!("SerdeOf<{}>", t.to_token_stream()),
        (None, None) => "default".to_owned(),
    };
    let mut uses: Vec<(&LitStr, String, String)> = Vec::new();
    for n in &def.nodes {
        match &n.kind {
            NodeKind::Source(s) => {
                for t in &s.topics {
                    if let Some(first) = readers.insert(t.value(), &n.name) {
                        cx.error_spanned_by(
                            t,
                            format!("topic \"{}\" is already read by source `{first}`; a topic may be registered by one source only", t.value()),
                        );
                    }
                    uses.push((
                        t,
                        serde_of(&s.key_serde, Some(&s.key)),
                        serde_of(&s.value_serde, Some(&s.value)),
                    ));
                }
            }
            NodeKind::Sink(s) => {
                // A sink's default serdes depend on its parent's types; only explicit ones compare.
                if let (Some(k), Some(v)) = (&s.key_serde, &s.value_serde) {
                    uses.push((
                        &s.topic,
                        serde_of(&Some(k.clone()), None),
                        serde_of(&Some(v.clone()), None),
                    ));
                }
            }
            NodeKind::Op(OpDef {
                op: Op::RepartitionSource { topic, .. },
                method,
            }) => {
                if readers.insert(format!("<internal>{topic}"), &n.name).is_some() {
                    cx.error_spanned_by(
                        method,
                        format!("repartition topic \"{topic}\" is planned twice; give the repartitions or the aggregations' stores distinct names"),
                    );
                }
            }
            NodeKind::Op(OpDef {
                op: Op::To { topic, serdes, .. },
                ..
            }) => {
                if let (Some(k), Some(v)) = (&serdes.key, &serdes.value) {
                    uses.push((
                        topic,
                        serde_of(&Some(k.clone()), None),
                        serde_of(&Some(v.clone()), None),
                    ));
                }
            }
            NodeKind::Processor(_) | NodeKind::Op(_) => {}
        }
    }
    for n in &def.nodes {
        let topics: Vec<&LitStr> = match &n.kind {
            NodeKind::Source(s) => s.topics.iter().collect(),
            NodeKind::Sink(s) => vec![&s.topic],
            NodeKind::Op(OpDef {
                op: Op::To { topic, .. },
                ..
            }) => vec![topic],
            NodeKind::Op(OpDef {
                op: Op::RepartitionSource { topic, .. },
                method,
            }) => {
                // Leave room for "<application.id>-".
                if let Some(problem) = topic_name_problem(topic, 249 - 2) {
                    cx.error_spanned_by(
                        method,
                        format!("illegal repartition topic name \"{topic}\": it {problem}"),
                    );
                }
                Vec::new()
            }
            NodeKind::Processor(_) | NodeKind::Op(_) => Vec::new(),
        };
        for t in topics {
            if let Some(problem) = topic_name_problem(&t.value(), 249) {
                cx.error_spanned_by(t, format!("illegal topic name \"{}\": it {problem}", t.value()));
            }
        }
    }
    for (topic, key, value) in uses {
        match serdes.get(&topic.value()) {
            None => {
                serdes.insert(topic.value(), (key, value, topic));
            }
            Some((k, v, _)) if *k == key && *v == value => {}
            Some((k, v, _)) => cx.error_spanned_by(
                topic,
                format!(
                    "topic \"{}\" is used with serdes ({key}, {value}) here but ({k}, {v}) elsewhere; use one pair of serdes per topic",
                    topic.value()
                ),
            ),
        }
    }
}

fn check_stores(cx: &Ctxt, def: &TopologyDef) {
    // Leave room for "<application.id>-" (at least 2 characters) and "-changelog".
    const MAX_STORE_NAME: usize = 249 - "-changelog".len() - 2;
    for s in &def.stores {
        if let Some(problem) = topic_name_problem(&s.name.value(), MAX_STORE_NAME) {
            cx.error_spanned_by(
                &s.name,
                format!(
                    "illegal store name \"{}\": it {problem} (a store name must make a legal changelog topic name)",
                    s.name.value()
                ),
            );
        }
    }
}

fn resolve_parents(cx: &Ctxt, def: &TopologyDef) -> Option<Vec<Vec<usize>>> {
    // The first node of a name wins, so a duplicate (already reported) does not cascade.
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, n) in def.nodes.iter().enumerate() {
        index.entry(n.name.to_string()).or_insert(i);
    }
    let mut ok = true;
    let parents = def
        .nodes
        .iter()
        .map(|n| {
            let mut resolved = Vec::new();
            for p in &n.parents {
                let name = p.to_string();
                match index.get(&name) {
                    None => {
                        ok = false;
                        let hint = suggestion(
                            &name,
                            def.nodes
                                .iter()
                                .map(|n| n.name.to_string())
                                .collect::<Vec<_>>()
                                .iter()
                                .map(String::as_str),
                        );
                        cx.error_spanned_by(
                            p,
                            format!("node `{name}` does not exist in topology {}{hint}", def.name),
                        );
                    }
                    Some(&i)
                        if matches!(def.nodes[i].kind, NodeKind::Op(_))
                            && matches!(n.kind, NodeKind::Processor(_) | NodeKind::Sink(_)) =>
                    {
                        ok = false;
                        cx.error_spanned_by(
                            p,
                            format!("`{name}` is a DSL stream; attach a processor with `.process(Type)` and a sink with `.to(\"topic\")`"),
                        );
                    }
                    Some(&i) if matches!(def.nodes[i].kind, NodeKind::Sink(_)) => {
                        ok = false;
                        cx.error_spanned_by(
                            p,
                            format!("`{name}` is a sink and cannot be a parent; sinks end the graph"),
                        );
                    }
                    Some(&i) if resolved.contains(&i) => {
                        cx.error_spanned_by(p, format!("parent `{name}` is listed twice"));
                    }
                    Some(&i) => resolved.push(i),
                }
            }
            resolved
        })
        .collect();
    ok.then_some(parents)
}

/// A leaves-first order of the nodes, or an error on the edge that closes a cycle.
fn order(cx: &Ctxt, def: &TopologyDef, parents: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    // Depth-first over parent edges: a node is emitted after all its parents, then reversed.
    fn visit(
        i: usize,
        parents: &[Vec<usize>],
        marks: &mut [Mark],
        out: &mut Vec<usize>,
        cycle: &mut Option<(usize, usize)>,
    ) {
        marks[i] = Mark::Active;
        for (k, &p) in parents[i].iter().enumerate() {
            match marks[p] {
                Mark::Active => {
                    cycle.get_or_insert((i, k));
                }
                Mark::New => visit(p, parents, marks, out, cycle),
                Mark::Done => {}
            }
        }
        marks[i] = Mark::Done;
        out.push(i);
    }
    let mut marks = vec![Mark::New; parents.len()];
    let mut roots_first = Vec::new();
    let mut cycle = None;
    for i in 0..parents.len() {
        if marks[i] == Mark::New {
            visit(i, parents, &mut marks, &mut roots_first, &mut cycle);
        }
    }
    if let Some((node, k)) = cycle {
        let edge = &def.nodes[node].parents[k];
        cx.error_spanned_by(
            edge,
            format!(
                "cycle in topology {}: `{edge}` is downstream of `{}`; a topology must be acyclic",
                def.name, def.nodes[node].name
            ),
        );
        return None;
    }
    roots_first.reverse();
    Some(roots_first)
}

#[cfg(test)]
mod tests {
    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(super::topic_name_problem("streams-plaintext-input", 249).is_none());
        assert!(super::topic_name_problem("a.b_c-1", 249).is_none());
        assert!(super::topic_name_problem("", 249).is_some());
        assert!(super::topic_name_problem("..", 249).is_some());
        assert!(super::topic_name_problem("bad name", 249).is_some());
        assert!(super::topic_name_problem(&"x".repeat(250), 249).is_some());
    }
}
