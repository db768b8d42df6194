//! The DSL inside `topology!`: statements such as
//! `let counts = lines.flat_map_values(..).group_by(..).count(store: "counts");` parsed and
//! lowered into nodes of the same graph as the Processor API clauses.
//!
//! Lowering tracks what each name is (a stream, a table, a grouped or windowed stream) so an
//! operator applied to the wrong kind is an error on the method's token, plans repartition
//! topics where a key change precedes a grouping (as Java does), and names nodes, stores and
//! internal topics the way Java's `InternalStreamsBuilder` does.
//!
//! Every operator is one entry of [`OPERATORS`]: the kind of receiver it applies to, the method
//! names it answers to, and its lowering function, which reads its arguments ([`Args`]), checks
//! what the macro can check, and adds nodes and stores to the [`Scope`]. The entries live with
//! their receiver: `stream`, `table`, `grouped`, `windowed` and `suppress`.
//! [`Scope::statement`] reads a chain and dispatches each method call through the table.

mod args;
mod duration;
mod grouped;
pub mod join;
mod op;
mod stream;
mod suppress;
mod table;
mod windowed;

pub use duration::Dur;
pub use op::{AggKind, Carried, Op, OpDef, Serdes, WindowedAggKind};

use super::model::{NodeDef, NodeKind, SourceDef, StoreDef, StoreShape};
use crate::ctxt::Ctxt;
use args::{Args, arity};
use proc_macro2::TokenStream;
use std::collections::HashMap;
use syn::parse::ParseStream;
use syn::{Expr, Ident, Token};
use windowed::{WindowedTable, Windowing};

/// What a name in the topology stands for.
#[derive(Clone)]
enum Kind {
    Stream(Stream),
    Table(Table),
    /// A global table: materialized everywhere, read by joins; no operators of its own.
    GlobalTable(Table),
    /// A grouped stream or table, not yet aggregated.
    Grouped(Box<Grouping>),
    /// A grouped stream with windows, not yet aggregated.
    Windowed(Box<Windowing>),
}

/// A KStream.
#[derive(Clone)]
struct Stream {
    /// Whether its key may have changed since the last repartition.
    repartition: bool,
    /// The serdes it inherits (Java passes a stream's serdes on until an operator changes the
    /// type they apply to).
    serdes: Serdes,
    /// Whether its keys are a windowed aggregation's `Windowed<K>`.
    windowed_key: bool,
}

/// A KTable.
#[derive(Clone)]
struct Table {
    /// The serdes it inherits.
    serdes: Serdes,
    /// The windows of a windowed aggregation's result (its keys are `Windowed<K>`).
    windowed: Option<WindowedTable>,
    /// The key-value store holding the table's current rows, where one does (a `table` clause,
    /// an aggregation): what joins read.
    store: Option<usize>,
    /// Whether that store is versioned (joins read it as of each stream record's time).
    versioned: bool,
    /// The node whose output rows the store holds (its witness types them).
    stored: Option<Ident>,
    /// The `filter` / `map_values` nodes between that node and this table, in order: a join
    /// reads the store through them (Java's value getters).
    getters: Vec<Ident>,
}

/// How a stream or table was grouped.
#[derive(Clone)]
struct Grouping {
    /// The `group_by` / `group_by_key` token (repartition errors point here).
    method: Ident,
    /// Serdes for the repartition topic and the aggregation's store key.
    serdes: Serdes,
    /// Whether a repartition topic comes before the aggregation.
    repartition: bool,
    /// A grouped table (aggregations need a subtractor).
    table: bool,
}

/// A named stream or table: the node whose output it is, and its kind.
#[derive(Clone)]
struct Handle {
    node: Ident,
    kind: Kind,
}

impl Handle {
    /// A stream of new keys (or none known to be windowed): `repartition` when its key may have
    /// changed, with the serdes that still apply.
    fn stream(node: Ident, repartition: bool, serdes: Serdes) -> Option<Handle> {
        Handle::stream_of(
            node,
            Stream {
                repartition,
                serdes,
                windowed_key: false,
            },
        )
    }

    fn stream_of(node: Ident, stream: Stream) -> Option<Handle> {
        Some(Handle {
            node,
            kind: Kind::Stream(stream),
        })
    }

    fn table(node: Ident, table: Table) -> Option<Handle> {
        Some(Handle {
            node,
            kind: Kind::Table(table),
        })
    }

    fn grouped(node: Ident, grouping: Grouping) -> Option<Handle> {
        Some(Handle {
            node,
            kind: Kind::Grouped(Box::new(grouping)),
        })
    }
}

/// What an operator applies to.
#[derive(Clone, Copy, PartialEq)]
enum Receiver {
    Stream,
    Table,
    GroupedStream,
    GroupedTable,
    Windowed,
}

impl Receiver {
    const ALL: [Receiver; 5] = [
        Receiver::Stream,
        Receiver::Table,
        Receiver::GroupedStream,
        Receiver::GroupedTable,
        Receiver::Windowed,
    ];

    /// How "no method" errors name it.
    fn describe(self) -> &'static str {
        match self {
            Receiver::Stream => "stream",
            Receiver::Table => "table",
            Receiver::GroupedStream => "grouped stream",
            Receiver::GroupedTable => "grouped table",
            Receiver::Windowed => "windowed grouped stream",
        }
    }

    /// How to get from this receiver to one that has `method`, when it is a usual mistake.
    fn hint(self, method: &str) -> Option<&'static str> {
        Some(match (self, method) {
            (Receiver::Stream, "suppress") => {
                "`suppress` applies to a table (such as an aggregation's result), not a stream: call it before `to_stream()`, e.g. `.count(..).suppress(until_window_closes(unbounded())).to_stream()`"
            }
            (Receiver::Stream, "windowed_by") => {
                "`windowed_by` applies to a grouped stream: group it first, e.g. `.group_by_key().windowed_by(tumbling(5min))`"
            }
            (Receiver::Table, "windowed_by") | (Receiver::GroupedTable, "windowed_by") => {
                "a table cannot be windowed (as in Java): window the stream before it is aggregated, e.g. `stream.group_by_key().windowed_by(tumbling(5min)).count(..)`"
            }
            (Receiver::GroupedStream | Receiver::Windowed, "suppress") => {
                "`suppress` applies to the table an aggregation returns: aggregate first, e.g. `.count(..).suppress(..)`"
            }
            _ => return None,
        })
    }
}

impl Kind {
    /// The receiver this kind is (a global table has no operators).
    fn receiver(&self) -> Option<Receiver> {
        match self {
            Kind::Stream(_) => Some(Receiver::Stream),
            Kind::Table(_) => Some(Receiver::Table),
            Kind::GlobalTable(_) => None,
            Kind::Grouped(g) if g.table => Some(Receiver::GroupedTable),
            Kind::Grouped(_) => Some(Receiver::GroupedStream),
            Kind::Windowed(_) => Some(Receiver::Windowed),
        }
    }
}

/// One method call on a receiver: the method token, its arguments and the receiver's node.
struct Call {
    method: Ident,
    args: Args,
    node: Ident,
}

impl Call {
    /// The receiver's node, as the parents of the operator's first node.
    fn parents(&self) -> Vec<Ident> {
        vec![self.node.clone()]
    }
}

/// A lowering function, by the receiver it applies to (which it gets, typed, with the call).
/// It returns what the call results in, or `None` after an error or a terminal operation.
#[derive(Clone, Copy)]
enum Lowering {
    Stream(fn(&mut Scope<'_>, Call, Stream) -> Option<Handle>),
    Table(fn(&mut Scope<'_>, Call, Table) -> Option<Handle>),
    GroupedStream(fn(&mut Scope<'_>, Call, Grouping) -> Option<Handle>),
    GroupedTable(fn(&mut Scope<'_>, Call, Grouping) -> Option<Handle>),
    Windowed(fn(&mut Scope<'_>, Call, Windowing) -> Option<Handle>),
}

impl Lowering {
    fn receiver(self) -> Receiver {
        match self {
            Lowering::Stream(_) => Receiver::Stream,
            Lowering::Table(_) => Receiver::Table,
            Lowering::GroupedStream(_) => Receiver::GroupedStream,
            Lowering::GroupedTable(_) => Receiver::GroupedTable,
            Lowering::Windowed(_) => Receiver::Windowed,
        }
    }
}

/// A DSL operator: the methods it answers to and how a call lowers.
struct Operator {
    methods: &'static [&'static str],
    lower: Lowering,
}

impl Operator {
    const fn new(methods: &'static [&'static str], lower: Lowering) -> Self {
        Operator { methods, lower }
    }
}

/// Every operator, by receiver; "no method" errors list a receiver's methods in this order.
const OPERATORS: &[&[Operator]] = &[
    stream::OPERATORS,
    join::OPERATORS,
    table::OPERATORS,
    suppress::OPERATORS,
    grouped::OPERATORS,
    windowed::OPERATORS,
];

fn operators(receiver: Receiver) -> impl Iterator<Item = &'static Operator> {
    OPERATORS
        .iter()
        .flat_map(|ops| ops.iter())
        .filter(move |o| o.lower.receiver() == receiver)
}

/// The nodes and stores of a topology as they are read, and what each name stands for.
pub struct Scope<'a> {
    cx: &'a Ctxt,
    /// The topology type, which generated consts belong to.
    topology: Ident,
    pub nodes: Vec<NodeDef>,
    pub stores: Vec<StoreDef>,
    /// Associated consts of the topology type (`const __WINDOWS_0: TimeWindows = ..;`).
    pub consts: Vec<TokenStream>,
    /// Compile-time checks over consts the macro cannot evaluate (`const _: () = ..;`).
    pub const_checks: Vec<TokenStream>,
    names: HashMap<String, Handle>,
    /// Java's running index for generated names.
    counter: usize,
}

impl<'a> Scope<'a> {
    pub fn new(cx: &'a Ctxt, topology: &Ident) -> Self {
        Scope {
            cx,
            topology: topology.clone(),
            nodes: Vec::new(),
            stores: Vec::new(),
            consts: Vec::new(),
            const_checks: Vec::new(),
            names: HashMap::new(),
            counter: 0,
        }
    }

    fn next_name(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}-{:010}", self.counter);
        self.counter += 1;
        name
    }

    /// A `source`/`stream`, `processor` or `sink` clause; sources and processors can start DSL
    /// chains.
    pub fn add_clause_node(&mut self, node: NodeDef) {
        self.counter += 1;
        let kind = match &node.kind {
            NodeKind::Source(s) => Some(Kind::Stream(Stream {
                repartition: false,
                serdes: Serdes {
                    key: s.key_serde.clone(),
                    value: s.value_serde.clone(),
                },
                windowed_key: false,
            })),
            // A processor may change keys (Java marks `process` as key-changing).
            NodeKind::Processor(_) => Some(Kind::Stream(Stream {
                repartition: true,
                serdes: Serdes::default(),
                windowed_key: false,
            })),
            NodeKind::Sink(_) | NodeKind::Op(_) => None,
        };
        if let Some(kind) = kind {
            self.bind(
                &node.name,
                Handle {
                    node: node.name.clone(),
                    kind,
                },
            );
        }
        self.nodes.push(node);
    }

    /// Binds a name to a stream or table; an error if the name is taken.
    fn bind(&mut self, name: &Ident, handle: Handle) {
        match self.names.entry(name.to_string()) {
            std::collections::hash_map::Entry::Occupied(_) => self.cx.error_spanned_by(
                name,
                format!("`{name}` is already defined in this topology; choose another name"),
            ),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(handle);
            }
        }
    }

    fn add_op(&mut self, method: &Ident, parents: Vec<Ident>, op: Op) -> Ident {
        let display = self.next_name(op.prefix());
        self.add_named_op(method, parents, op, display)
    }

    fn add_named_op(&mut self, method: &Ident, parents: Vec<Ident>, op: Op, display: String) -> Ident {
        // `__dsl_` names are reserved: `check` rejects user names with that prefix.
        let ident = Ident::new(&format!("__dsl_{}", self.nodes.len()), method.span());
        self.nodes.push(NodeDef {
            name: ident.clone(),
            display: Some(display),
            parents,
            kind: NodeKind::Op(OpDef {
                method: method.clone(),
                op,
            }),
        });
        ident
    }

    fn add_store(&mut self, store: StoreDef) -> usize {
        self.stores.push(store);
        self.stores.len() - 1
    }

    /// A table's store is materialized by what reads it (a join, a grouping): one not named
    /// with `store:` caches from then on, as Java's table source does once materialized.
    fn materialize(&mut self, store: usize) {
        self.stores[store].caching.get_or_insert(true);
    }

    /// `let name = chain;` or `chain;`.
    pub fn statement(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        let binding = if input.peek(Token![let]) {
            input.parse::<Token![let]>()?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(name)
        } else {
            None
        };
        let receiver: Ident = input.parse()?;
        let mut current = self.lookup(&receiver);
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            let method: Ident = input.parse()?;
            let args = Args::parse(method.clone(), input)?;
            current = match current {
                Some(handle) => self.apply(handle, method, args),
                None => None,
            };
        }
        input.parse::<Token![;]>()?;
        if let (Some(name), Some(handle)) = (binding, current) {
            self.bind(&name, handle);
        }
        Ok(())
    }

    fn lookup(&self, name: &Ident) -> Option<Handle> {
        let found = self.names.get(&name.to_string()).cloned();
        if found.is_none() {
            let hint = crate::ctxt::suggestion(&name.to_string(), self.names.keys().map(String::as_str));
            self.cx
                .error_spanned_by(name, format!("`{name}` is not a stream or table declared above{hint}"));
        }
        found
    }

    /// Applies one method to a handle through [`OPERATORS`]; `None` after an error or a terminal
    /// operation.
    fn apply(&mut self, handle: Handle, method: Ident, args: Args) -> Option<Handle> {
        let Some(receiver) = handle.kind.receiver() else {
            self.cx.error_spanned_by(
                &method,
                "a global table has no operators: it is materialized on every instance for joins and lookups; declare it with `table` to transform it",
            );
            return None;
        };
        let m = method.to_string();
        let Some(operator) = operators(receiver).find(|o| o.methods.contains(&m.as_str())) else {
            return self.unknown(&method, receiver);
        };
        let call = Call {
            method,
            args,
            node: handle.node,
        };
        match (operator.lower, handle.kind) {
            (Lowering::Stream(lower), Kind::Stream(stream)) => lower(self, call, stream),
            (Lowering::Table(lower), Kind::Table(table)) => lower(self, call, table),
            (Lowering::GroupedStream(lower) | Lowering::GroupedTable(lower), Kind::Grouped(grouping)) => {
                lower(self, call, *grouping)
            }
            (Lowering::Windowed(lower), Kind::Windowed(windowing)) => lower(self, call, *windowing),
            _ => unreachable!("operators are looked up by their receiver"),
        }
    }

    /// "No method" on the method's token, with the receiver's methods and a way on: the closest
    /// method, the receivers that have it, or the usual fix.
    fn unknown(&self, method: &Ident, receiver: Receiver) -> Option<Handle> {
        let mut methods: Vec<&str> = Vec::new();
        for m in operators(receiver).flat_map(|o| o.methods.iter().copied()) {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        let what = receiver.describe();
        let name = method.to_string();
        let hint = if let Some(hint) = receiver.hint(&name) {
            format!("; {hint}")
        } else {
            let elsewhere: Vec<&str> = Receiver::ALL
                .into_iter()
                .filter(|r| operators(*r).any(|o| o.methods.contains(&name.as_str())))
                .map(Receiver::describe)
                .collect();
            if elsewhere.is_empty() {
                crate::ctxt::suggestion(&name, methods.iter().copied())
            } else {
                format!("; `{method}` applies to a {}", elsewhere.join(" or a "))
            }
        };
        self.cx.error_spanned_by(
            method,
            format!(
                "no method `{method}` on a {what}{hint}; a {what} has: {}",
                methods.join(", ")
            ),
        );
        None
    }

    /// A closure argument; an error on the method token when it is missing or has the wrong
    /// number of parameters (`params == 0` accepts any).
    fn required_closure(
        &self,
        args: &mut Args,
        index: usize,
        what: &str,
        params: usize,
        example: &str,
    ) -> Option<Expr> {
        let Some(f) = args.closure(index, what) else {
            self.cx
                .error_spanned_by(&args.method, format!("`{}` needs a {what}: {example}", args.method));
            return None;
        };
        if let Some(n) = arity(&f)
            && params != 0
            && n != params
        {
            self.cx.error_spanned_by(
                &f,
                format!("the {what} of `{}` takes {params} parameters: {example}", args.method),
            );
            return None;
        }
        Some(f)
    }

    /// A stream's repartition topic `<base>-repartition` (Java's `createRepartitionedSource`): a
    /// sink after `parent` and a source reading it (the root of a new sub-topology). Java spends
    /// three generated names, the sink's, its null-key filter's and the source's, and uses them
    /// when `base` is a generated name too; else the nodes are `<topic>-sink` and
    /// `<topic>-source`, and the filter `<topic>-filter`. Returns the source.
    fn repartition(&mut self, method: &Ident, parent: Ident, base: &str, serdes: Serdes, table: bool) -> Ident {
        let topic = format!("{base}-repartition");
        let sink_name = self.next_name("KSTREAM-SINK");
        let filter_name = self.next_name("KSTREAM-FILTER");
        let source_name = self.next_name("KSTREAM-SOURCE");
        let (sink_name, filter_name, source_name) = if is_generated_name(base) {
            (sink_name, filter_name, source_name)
        } else {
            (
                format!("{topic}-sink"),
                format!("{topic}-filter"),
                format!("{topic}-source"),
            )
        };
        // Java's null-key filter before the sink; the sink itself skips null keys, so the node
        // only passes records on.
        let filter = self.add_named_op(method, vec![parent], Op::PassThrough, filter_name);
        self.repartition_nodes(
            method,
            filter,
            topic,
            serdes,
            Carried::of(table),
            sink_name,
            source_name,
        )
    }

    /// The sink and source of repartition topic `topic`, with their names. Returns the source.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn repartition_nodes(
        &mut self,
        method: &Ident,
        parent: Ident,
        topic: String,
        serdes: Serdes,
        carried: Carried,
        sink_name: String,
        source_name: String,
    ) -> Ident {
        let source = self.add_named_op(
            method,
            Vec::new(),
            Op::RepartitionSource {
                topic: topic.clone(),
                serdes: serdes.clone(),
                carried,
            },
            source_name,
        );
        self.add_named_op(
            method,
            vec![parent],
            Op::RepartitionSink {
                source: source.clone(),
                topic,
                serdes,
                carried,
            },
            sink_name,
        );
        source
    }
}

/// Whether `name` is one Java generated (`KSTREAM…-0000000007`, its `KSTREAM.*-[0-9]{10}`).
fn is_generated_name(name: &str) -> bool {
    name.starts_with("KSTREAM")
        && name
            .rsplit_once('-')
            .is_some_and(|(_, n)| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
pub(super) mod tests {
    /// The messages of the errors `topology! { .. }` reports for `body` (a topology over a
    /// `clicks` stream of `String` keys and values).
    pub fn errors(body: &str) -> Vec<String> {
        let src = format!("struct Topo {{ stream clicks {{ topic: \"clicks\", key: String, value: String }} {body} }}");
        let out = crate::topology::expand(src.parse().expect("tokens"));
        let mut messages = Vec::new();
        let tokens: Vec<proc_macro2::TokenTree> = out.into_iter().collect();
        for w in tokens.windows(3) {
            if let [proc_macro2::TokenTree::Ident(i), _, proc_macro2::TokenTree::Group(g)] = w
                && i == "compile_error"
            {
                let lit: syn::LitStr = syn::parse2(g.stream()).expect("a message");
                messages.push(lit.value());
            }
        }
        messages
    }

    /// The generated code of a topology without errors, as text.
    pub fn expansion(body: &str) -> String {
        let src = format!("struct Topo {{ stream clicks {{ topic: \"clicks\", key: String, value: String }} {body} }}");
        crate::topology::expand(src.parse().expect("tokens")).to_string()
    }

    #[test]
    fn generated_names_are_recognized_as_java_does() {
        assert!(super::is_generated_name("KSTREAM-AGGREGATE-STATE-STORE-0000000003"));
        assert!(super::is_generated_name("KSTREAM-REPARTITION-0000000001"));
        assert!(!super::is_generated_name("KTABLE-AGGREGATE-STATE-STORE-0000000003"));
        assert!(!super::is_generated_name("counts-store"));
        assert!(!super::is_generated_name("KSTREAM-counts-1"));
    }
}
