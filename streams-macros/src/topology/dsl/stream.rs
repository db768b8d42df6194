//! Operators on a stream (Java's `KStream`).

use super::args::{NamedValue, arity};
use super::{Call, Grouping, Handle, Kind, Lowering, NodeDef, NodeKind, Op, OpDef, Operator, Scope, Serdes, Stream};
use syn::{Expr, Type};

pub(super) const OPERATORS: &[Operator] = &[
    Operator::new(&["filter", "filter_not"], Lowering::Stream(filter)),
    Operator::new(&["map"], Lowering::Stream(map)),
    Operator::new(&["map_values"], Lowering::Stream(map_values)),
    Operator::new(&["flat_map"], Lowering::Stream(flat_map)),
    Operator::new(&["flat_map_values"], Lowering::Stream(flat_map_values)),
    Operator::new(&["select_key"], Lowering::Stream(select_key)),
    Operator::new(&["peek", "foreach"], Lowering::Stream(peek)),
    Operator::new(&["split"], Lowering::Stream(split)),
    Operator::new(&["merge"], Lowering::Stream(merge)),
    Operator::new(&["to"], Lowering::Stream(to)),
    Operator::new(&["process"], Lowering::Stream(process)),
    Operator::new(&["repartition"], Lowering::Stream(repartition)),
    Operator::new(&["group_by_key"], Lowering::Stream(group_by_key)),
    Operator::new(&["group_by"], Lowering::Stream(group_by)),
];

/// Whether `serde` is one of the runtime's serdes of plain (not windowed) values.
fn is_plain_serde(serde: &Type) -> bool {
    const PLAIN: &[&str] = &[
        "StringSerde",
        "LongSerde",
        "IntegerSerde",
        "ShortSerde",
        "FloatSerde",
        "DoubleSerde",
        "BytesSerde",
        "UnitSerde",
        "OptionSerde",
    ];
    match serde {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| PLAIN.iter().any(|plain| s.ident == plain)),
        _ => false,
    }
}

/// Keeps the key serde only (the value type may change).
pub(super) fn key_only(s: &Serdes) -> Serdes {
    Serdes {
        key: s.key.clone(),
        value: None,
    }
}

/// Keeps the value serde only (the key type may change).
fn value_only(s: &Serdes) -> Serdes {
    Serdes {
        key: None,
        value: s.value.clone(),
    }
}

fn filter(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "predicate", 2, "|key, value| bool")?;
    call.args.finish(scope.cx, "filter(|key, value| bool)");
    let keep = call.method == "filter";
    let node = scope.add_op(&call.method, call.parents(), Op::Filter { f, keep });
    Handle::stream_of(node, stream)
}

fn map(scope: &mut Scope<'_>, mut call: Call, _: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "mapper", 2, "|key, value| (new_key, new_value)")?;
    call.args.finish(scope.cx, "map(|key, value| (new_key, new_value))");
    Handle::stream(
        scope.add_op(&call.method, call.parents(), Op::Map(f)),
        true,
        Serdes::default(),
    )
}

fn map_values(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "mapper", 0, "|value| new_value")?;
    call.args.finish(
        scope.cx,
        "map_values(|value| new_value) or map_values(|key, value| new_value)",
    );
    let with_key = arity(&f) == Some(2);
    let node = scope.add_op(&call.method, call.parents(), Op::MapValues { f, with_key });
    let serdes = key_only(&stream.serdes);
    Handle::stream_of(node, Stream { serdes, ..stream })
}

fn flat_map(scope: &mut Scope<'_>, mut call: Call, _: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "mapper", 2, "|key, value| iterator of (key, value)")?;
    call.args
        .finish(scope.cx, "flat_map(|key, value| iterator of (key, value))");
    Handle::stream(
        scope.add_op(&call.method, call.parents(), Op::FlatMap(f)),
        true,
        Serdes::default(),
    )
}

fn flat_map_values(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "mapper", 0, "|value| iterator of values")?;
    call.args
        .finish(scope.cx, "flat_map_values(|value| iterator of values)");
    let with_key = arity(&f) == Some(2);
    let node = scope.add_op(&call.method, call.parents(), Op::FlatMapValues { f, with_key });
    let serdes = key_only(&stream.serdes);
    Handle::stream_of(node, Stream { serdes, ..stream })
}

fn select_key(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "key selector", 2, "|key, value| new_key")?;
    call.args.finish(scope.cx, "select_key(|key, value| new_key)");
    Handle::stream(
        scope.add_op(&call.method, call.parents(), Op::SelectKey(f)),
        true,
        value_only(&stream.serdes),
    )
}

/// `peek` and `foreach` (which ends the chain).
fn peek(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "action", 2, "|key, value| ()")?;
    call.args.finish(scope.cx, "peek(|key, value| ..)");
    if call.method == "peek" {
        let node = scope.add_op(&call.method, call.parents(), Op::Peek(f));
        Handle::stream_of(node, stream)
    } else {
        scope.add_op(&call.method, call.parents(), Op::Foreach(f));
        None
    }
}

/// `split(name: |k, v| .., other: |k, v| .., default: rest)`: a branch node with one named
/// pass-through child per branch, in order, the default last.
fn split(scope: &mut Scope<'_>, call: Call, stream: Stream) -> Option<Handle> {
    let (method, mut args) = (&call.method, call.args);
    let mut branches = Vec::new();
    let mut default = None;
    for (name, value) in std::mem::take(&mut args.named) {
        match value {
            NamedValue::Ident(d) if name == "default" => default = Some(d),
            NamedValue::Expr(f) => branches.push((name, f)),
            _ => scope
                .cx
                .error_spanned_by(&name, "a branch is `name: |key, value| bool`"),
        }
    }
    args.finish(scope.cx, "split(name: |key, value| bool, .., default: name)");
    if branches.is_empty() {
        scope.cx.error_spanned_by(
            method,
            "`split` needs at least one branch: split(name: |key, value| bool, ..)",
        );
        return None;
    }
    let has_default = default.is_some();
    let predicates = branches.iter().map(|(_, f)| f.clone()).collect();
    let branch = scope.add_op(
        method,
        vec![call.node],
        Op::Branch {
            predicates,
            has_default,
        },
    );
    for name in branches.into_iter().map(|(n, _)| n).chain(default) {
        if scope.names.contains_key(&name.to_string()) {
            scope
                .cx
                .error_spanned_by(&name, format!("`{name}` is already defined in this topology"));
            continue;
        }
        let display = scope.next_name("KSTREAM-BRANCHCHILD");
        scope.nodes.push(NodeDef {
            name: name.clone(),
            display: Some(display),
            parents: vec![branch.clone()],
            kind: NodeKind::Op(OpDef {
                method: name.clone(),
                op: Op::PassThrough,
            }),
        });
        scope.names.insert(
            name.to_string(),
            Handle {
                node: name,
                kind: Kind::Stream(stream.clone()),
            },
        );
    }
    None
}

fn merge(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let cx = scope.cx;
    let other = match call.args.first() {
        Some(Expr::Path(p)) => p.path.get_ident().cloned(),
        _ => None,
    };
    let Some(other) = other else {
        cx.error_spanned_by(&call.method, "usage: merge(other_stream)");
        return None;
    };
    call.args.finish(cx, "merge(other_stream)");
    let other_handle = scope.lookup(&other)?;
    let Kind::Stream(Stream {
        repartition: other_repartition,
        windowed_key: other_windowed,
        ..
    }) = other_handle.kind
    else {
        cx.error_spanned_by(&other, format!("`{other}` is not a stream; only streams merge"));
        return None;
    };
    let mut parents = call.parents();
    parents.push(other_handle.node);
    let node = scope.add_op(&call.method, parents, Op::PassThrough);
    // The merged node's parents are spanned on the user's tokens for errors.
    if let Some(n) = scope.nodes.last_mut() {
        n.parents[1] = syn::Ident::new(&n.parents[1].to_string(), other.span());
    }
    // Java's merged stream has no serdes of its own.
    Handle::stream_of(
        node,
        Stream {
            repartition: stream.repartition || other_repartition,
            serdes: Serdes::default(),
            windowed_key: stream.windowed_key && other_windowed,
        },
    )
}

/// `to("topic", ..)` or `to(|k, v| "topic", ..)`; ends the chain.
fn to(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let cx = scope.cx;
    let explicit = call.args.serdes();
    if stream.windowed_key
        && let Some(serde) = explicit.key.as_ref().filter(|s| is_plain_serde(s))
    {
        cx.error_spanned_by(
            serde,
            format!(
                "the keys of this stream are `Windowed<K>` (a windowed aggregation's result), which `{}` cannot write; leave `key_serde` out to write them with the aggregation's windowed serde (Java's `TimeWindowedSerde` / `SessionWindowedSerde` layout), name one such as `TimeWindowedSerde<StringSerde, SIZE_MS>`, or write the plain key with `.select_key(|k, _| k.key.clone())` first",
                quote::ToTokens::to_token_stream(serde)
            ),
        );
        return None;
    }
    let serdes = explicit.or(&stream.serdes);
    let partitioner = call.args.ty("partitioner");
    match call.args.first() {
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(topic),
            ..
        })) => {
            call.args
                .finish(cx, "to(\"topic\", key_serde: .., value_serde: .., partitioner: ..)");
            scope.add_op(
                &call.method,
                call.parents(),
                Op::To {
                    topic,
                    serdes,
                    partitioner,
                },
            );
        }
        Some(f @ Expr::Closure(_)) => {
            call.args.finish(cx, "to(|key, value| \"topic\", ..)");
            scope.add_op(&call.method, call.parents(), Op::ToExtractor { f, serdes, partitioner });
        }
        _ => cx.error_spanned_by(
            &call.method,
            "usage: to(\"topic\", ..) or to(|key, value| \"topic\", ..)",
        ),
    }
    None
}

fn process(scope: &mut Scope<'_>, mut call: Call, _: Stream) -> Option<Handle> {
    let ty = match call.args.first() {
        Some(Expr::Path(p)) => Some(Type::Path(syn::TypePath {
            qself: p.qself,
            path: p.path,
        })),
        _ => None,
    };
    let Some(ty) = ty else {
        scope.cx.error_spanned_by(&call.method, "usage: process(ProcessorType)");
        return None;
    };
    call.args.finish(scope.cx, "process(ProcessorType)");
    // Java marks `process` as key-changing.
    Handle::stream(
        scope.add_op(&call.method, call.parents(), Op::Process(ty)),
        true,
        Serdes::default(),
    )
}

fn repartition(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let name = call.args.string("name");
    let serdes = call.args.serdes().or(&stream.serdes);
    call.args
        .finish(scope.cx, "repartition(name: \"n\", key_serde: .., value_serde: ..)");
    let base = match name {
        Some(n) => n.value(),
        None => scope.next_name("KSTREAM-REPARTITION"),
    };
    let node = scope.repartition(&call.method, call.node, &base, serdes.clone(), false);
    Handle::stream_of(
        node,
        Stream {
            repartition: false,
            serdes,
            windowed_key: stream.windowed_key,
        },
    )
}

fn group_by_key(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let serdes = call.args.serdes().or(&stream.serdes);
    call.args
        .finish(scope.cx, "group_by_key(key_serde: .., value_serde: ..)");
    Handle::grouped(
        call.node,
        Grouping {
            method: call.method,
            serdes,
            repartition: stream.repartition,
            table: false,
        },
    )
}

fn group_by(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "key selector", 2, "|key, value| new_key")?;
    let serdes = call.args.serdes().or(&value_only(&stream.serdes));
    call.args.finish(
        scope.cx,
        "group_by(|key, value| new_key, key_serde: .., value_serde: ..)",
    );
    let node = scope.add_op(&call.method, call.parents(), Op::SelectKey(f));
    Handle::grouped(
        node,
        Grouping {
            method: call.method,
            serdes,
            repartition: true,
            table: false,
        },
    )
}
