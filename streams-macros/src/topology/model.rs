//! Parsing: `topology!` input into a typed model. No semantic checks here beyond the syntax.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitBool, LitStr, Token, Type, Visibility, braced, bracketed};

/// The whole topology.
pub struct TopologyDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub nodes: Vec<NodeDef>,
    pub stores: Vec<StoreDef>,
}

/// A source, processor or sink.
pub struct NodeDef {
    pub name: Ident,
    pub parents: Vec<Ident>,
    pub kind: NodeKind,
}

/// What a node is.
#[allow(clippy::large_enum_variant)] // a handful per topology, at compile time
pub enum NodeKind {
    Source(SourceDef),
    Processor(ProcessorDef),
    Sink(SinkDef),
}

/// `source name { topic: "t", key: K, value: V, key_serde: .., value_serde: .., timestamp_extractor: .. }`
pub struct SourceDef {
    pub topics: Vec<LitStr>,
    pub key: Type,
    pub value: Type,
    pub key_serde: Option<Type>,
    pub value_serde: Option<Type>,
    pub timestamp_extractor: Option<Type>,
}

/// `processor name: Type { parents: [..] }`
pub struct ProcessorDef {
    pub ty: Type,
}

/// `sink name { topic: "t", parents: [..], key_serde: .., value_serde: .., partitioner: .. }`
pub struct SinkDef {
    pub topic: LitStr,
    pub key_serde: Option<Type>,
    pub value_serde: Option<Type>,
    pub partitioner: Option<Type>,
}

/// `store ident { name: "n", kind: key_value, key: K, value: V, key_serde: .., value_serde: .., persistent: bool, logging: bool }`
pub struct StoreDef {
    pub ident: Ident,
    pub name: LitStr,
    pub kind: Ident,
    pub key: Type,
    pub value: Type,
    pub key_serde: Option<Type>,
    pub value_serde: Option<Type>,
    pub persistent: bool,
    pub logging: bool,
}

/// `key: value` inside a clause, the value kept as tokens until its key says how to read it.
struct Field {
    key: Ident,
    value: TokenStream,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            let tt: proc_macro2::TokenTree = input.parse()?;
            value.extend([tt]);
        }
        Ok(Field { key, value })
    }
}

/// The fields of one clause, consumed as they are read; leftovers are unknown fields.
struct Fields {
    clause: Ident,
    fields: Vec<Field>,
}

impl Fields {
    fn parse(clause: Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        braced!(content in input);
        let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
        Ok(Fields {
            clause,
            fields: fields.into_iter().collect(),
        })
    }

    fn take(&mut self, cx: &Ctxt, key: &str) -> Option<Field> {
        let mut found = None;
        let mut i = 0;
        while i < self.fields.len() {
            if self.fields[i].key == key {
                let field = self.fields.remove(i);
                if found.is_some() {
                    cx.error_spanned_by(&field.key, format!("`{key}` is given twice"));
                } else {
                    found = Some(field);
                }
            } else {
                i += 1;
            }
        }
        found
    }

    fn optional<T: Parse>(&mut self, cx: &Ctxt, key: &str) -> Option<T> {
        let field = self.take(cx, key)?;
        match syn::parse2(field.value) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.syn_error(syn::Error::new(e.span(), format!("`{key}`: {e}")));
                None
            }
        }
    }

    fn required<T: Parse>(&mut self, cx: &Ctxt, key: &str, example: &str) -> Option<T> {
        if !self.fields.iter().any(|f| f.key == key) {
            cx.error_spanned_by(
                &self.clause,
                format!("`{}` needs `{key}` (e.g. `{example}`)", self.clause),
            );
            return None;
        }
        self.optional(cx, key)
    }

    fn list<T: Parse>(&mut self, cx: &Ctxt, key: &str) -> Option<Vec<T>> {
        let field = self.take(cx, key)?;
        let parsed = (|input: ParseStream<'_>| {
            let content;
            bracketed!(content in input);
            Punctuated::<T, Token![,]>::parse_terminated(&content)
        })
        .parse2_with(field.value);
        match parsed {
            Ok(items) => Some(items.into_iter().collect()),
            Err(e) => {
                cx.syn_error(syn::Error::new(
                    e.span(),
                    format!("`{key}` takes a list in brackets: {e}"),
                ));
                None
            }
        }
    }

    fn finish(self, cx: &Ctxt, allowed: &str) {
        for f in self.fields {
            cx.error_spanned_by(
                &f.key,
                format!(
                    "unknown field `{}` in `{}`; expected one of: {allowed}",
                    f.key, self.clause
                ),
            );
        }
    }
}

trait Parse2With<T> {
    fn parse2_with(self, tokens: TokenStream) -> syn::Result<T>;
}

impl<T, F: FnOnce(ParseStream<'_>) -> syn::Result<T>> Parse2With<T> for F {
    fn parse2_with(self, tokens: TokenStream) -> syn::Result<T> {
        syn::parse::Parser::parse2(self, tokens)
    }
}

/// Parses the macro input; field errors are collected in `cx`, syntax errors returned.
pub fn parse(cx: &Ctxt, input: ParseStream<'_>) -> syn::Result<TopologyDef> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    input.parse::<Token![struct]>()?;
    let name: Ident = input.parse()?;
    let body;
    braced!(body in input);
    let mut nodes = Vec::new();
    let mut stores = Vec::new();
    while !body.is_empty() {
        let clause: Ident = body.parse()?;
        let ident: Ident = body.parse()?;
        match clause.to_string().as_str() {
            "source" => {
                let mut f = Fields::parse(clause, &body)?;
                let topics = match (f.optional::<LitStr>(cx, "topic"), f.list::<LitStr>(cx, "topics")) {
                    (Some(t), None) => vec![t],
                    (None, Some(ts)) if !ts.is_empty() => ts,
                    (Some(t), Some(_)) => {
                        cx.error_spanned_by(&t, "give either `topic` or `topics`, not both");
                        vec![t]
                    }
                    _ => {
                        cx.error_spanned_by(
                            &ident,
                            format!("source `{ident}` needs `topic: \"name\"` or `topics: [\"a\", \"b\"]`"),
                        );
                        Vec::new()
                    }
                };
                let key = f.required(cx, "key", "key: String");
                let value = f.required(cx, "value", "value: String");
                let key_serde = f.optional(cx, "key_serde");
                let value_serde = f.optional(cx, "value_serde");
                let timestamp_extractor = f.optional(cx, "timestamp_extractor");
                f.finish(
                    cx,
                    "topic, topics, key, value, key_serde, value_serde, timestamp_extractor",
                );
                if let (Some(key), Some(value)) = (key, value) {
                    nodes.push(NodeDef {
                        name: ident,
                        parents: Vec::new(),
                        kind: NodeKind::Source(SourceDef {
                            topics,
                            key,
                            value,
                            key_serde,
                            value_serde,
                            timestamp_extractor,
                        }),
                    });
                }
            }
            "processor" => {
                body.parse::<Token![:]>()?;
                let ty: Type = body.parse()?;
                let mut f = Fields::parse(clause, &body)?;
                let parents = parents(cx, &mut f, &ident);
                f.finish(cx, "parents");
                nodes.push(NodeDef {
                    name: ident,
                    parents,
                    kind: NodeKind::Processor(ProcessorDef { ty }),
                });
            }
            "sink" => {
                let mut f = Fields::parse(clause, &body)?;
                let topic = f.required(cx, "topic", "topic: \"output\"");
                let parents = parents(cx, &mut f, &ident);
                let key_serde = f.optional(cx, "key_serde");
                let value_serde = f.optional(cx, "value_serde");
                let partitioner = f.optional(cx, "partitioner");
                f.finish(cx, "topic, parents, key_serde, value_serde, partitioner");
                if let Some(topic) = topic {
                    nodes.push(NodeDef {
                        name: ident,
                        parents,
                        kind: NodeKind::Sink(SinkDef {
                            topic,
                            key_serde,
                            value_serde,
                            partitioner,
                        }),
                    });
                }
            }
            "store" => {
                let mut f = Fields::parse(clause, &body)?;
                let name = f
                    .optional::<LitStr>(cx, "name")
                    .unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
                let kind = f
                    .optional::<Ident>(cx, "kind")
                    .unwrap_or_else(|| Ident::new("key_value", Span::call_site()));
                let key = f.required(cx, "key", "key: String");
                let value = f.required(cx, "value", "value: i64");
                let key_serde = f.optional(cx, "key_serde");
                let value_serde = f.optional(cx, "value_serde");
                let persistent = f.optional::<LitBool>(cx, "persistent").is_none_or(|b| b.value);
                let logging = f.optional::<LitBool>(cx, "logging").is_none_or(|b| b.value);
                f.finish(
                    cx,
                    "name, kind, key, value, key_serde, value_serde, persistent, logging",
                );
                if let (Some(key), Some(value)) = (key, value) {
                    stores.push(StoreDef {
                        ident,
                        name,
                        kind,
                        key,
                        value,
                        key_serde,
                        value_serde,
                        persistent,
                        logging,
                    });
                }
            }
            other => {
                return Err(syn::Error::new(
                    clause.span(),
                    format!("unknown clause `{other}`; expected `source`, `processor`, `sink` or `store`"),
                ));
            }
        }
        if body.peek(Token![,]) || body.peek(Token![;]) {
            let _ = body.parse::<proc_macro2::TokenTree>()?;
        }
    }
    Ok(TopologyDef {
        attrs,
        vis,
        name,
        nodes,
        stores,
    })
}

fn parents(cx: &Ctxt, f: &mut Fields, node: &Ident) -> Vec<Ident> {
    match f.list::<Ident>(cx, "parents") {
        Some(p) if !p.is_empty() => p,
        _ => {
            cx.error_spanned_by(
                node,
                format!("`{node}` needs `parents: [..]` naming at least one upstream node"),
            );
            Vec::new()
        }
    }
}
