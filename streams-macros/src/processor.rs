//! `#[derive(Processor)]`: parse the struct and its attributes, check them, generate the
//! `ProcessorSpec` and `ProcessorStores` impls that bind `#[store]` fields to the topology's
//! stores.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr, Type};

/// The parsed `#[processor(input = (K, V), output = (K, V))]`.
struct Io {
    input: Option<(Type, Type)>,
    output: Option<(Type, Type)>,
}

/// A field of the struct: bound to a store, or defaulted.
struct Field {
    ident: syn::Ident,
    ty: Type,
    store: Option<LitStr>,
}

/// Expands the derive.
pub fn expand(input: DeriveInput) -> TokenStream {
    let cx = Ctxt::default();
    let io = parse_io(&cx, &input);
    let fields = parse_fields(&cx, &input);
    if let Some(errors) = cx.check() {
        return errors;
    }
    let (Some((key_in, value_in)), Some((key_out, value_out))) = (io.input, io.output) else {
        unreachable!("parse_io reports a missing declaration as an error")
    };
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let rt = quote!(::streams_runtime::__private);

    let stores: Vec<_> = fields.iter().filter(|f| f.store.is_some()).collect();
    // A non-generic processor's store fields are checked once each, by a marker's impl
    // (`CheckedHandle`), so a field that is no store handle is one error at its type.
    let generic = !input.generics.params.is_empty();
    let marker = |i: usize| format_ident!("__StoreField{}", i, span = Span::mixed_site());
    let markers = stores.iter().enumerate().filter(|_| !generic).map(|(i, f)| {
        let (m, ty) = (marker(i), &f.ty);
        let handle = quote_spanned!(ty.span()=> type Handle = #ty;);
        quote! {
            struct #m;
            impl #rt::CheckedHandle for #m {
                #handle
            }
        }
    });
    let store_fields = stores.iter().enumerate().map(|(i, f)| {
        let store_name = f.store.as_ref().expect("filtered on store");
        let ty = &f.ty;
        let kind = if generic {
            quote_spanned!(ty.span()=> <#ty as ::streams_runtime::state::StoreHandle>::KIND)
        } else {
            let m = marker(i);
            quote!(#rt::field_kind::<#m>())
        };
        quote_spanned! {ty.span()=>
            #rt::StoreField { name: #store_name, kind: #kind }
        }
    });
    let field_types = stores.iter().enumerate().map(|(i, f)| {
        let ty = &f.ty;
        let mut generics = input.generics.clone();
        generics.params.push(syn::parse_quote!(__D));
        let (impl_generics_d, _, _) = generics.split_for_impl();
        quote! {
            impl #impl_generics_d #rt::StoreFieldType<#i, __D> for #name #ty_generics #where_clause {
                type Handle = #ty;
            }
        }
    });
    let mut store_index = 0..;
    let inits = fields.iter().map(|f| {
        let ident = &f.ident;
        match &f.store {
            Some(store_name) if generic => quote!(#ident: stores.bind(#store_name)?),
            Some(store_name) => {
                let m = marker(store_index.next().expect("unbounded"));
                quote!(#ident: #rt::bind_field::<#m>(stores, #store_name)?)
            }
            None => quote_spanned!(f.ty.span()=> #ident: ::core::default::Default::default()),
        }
    });
    let construct = match &input.data {
        Data::Struct(s) if matches!(s.fields, Fields::Unit) => quote!(#name),
        _ => quote!(#name { #(#inits,)* }),
    };

    quote! {
        const _: () = {
            impl #impl_generics #rt::ProcessorSpec for #name #ty_generics #where_clause {
                type KeyIn = #key_in;
                type ValueIn = #value_in;
                type KeyOut = #key_out;
                type ValueOut = #value_out;
            }

            impl #impl_generics #rt::ProcessorStores for #name #ty_generics #where_clause {
                const STORES: &'static [#rt::StoreField] = &[#(#store_fields),*];

                fn create(
                    stores: &::streams_runtime::__private::StoreSet,
                ) -> ::core::result::Result<Self, ::streams_runtime::error::StreamsError> {
                    let _ = stores;
                    ::core::result::Result::Ok(#construct)
                }
            }

            #(#field_types)*
            #(#markers)*
        };
    }
}

fn parse_io(cx: &Ctxt, input: &DeriveInput) -> Io {
    let mut io = Io {
        input: None,
        output: None,
    };
    let mut seen = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("processor")) {
        seen = true;
        let result = attr.parse_nested_meta(|meta| {
            let slot = if meta.path.is_ident("input") {
                &mut io.input
            } else if meta.path.is_ident("output") {
                &mut io.output
            } else {
                return Err(meta.error("unknown processor attribute; expected `input = (K, V)` or `output = (K, V)`"));
            };
            let ty: Type = meta.value()?.parse()?;
            match ty {
                Type::Tuple(t) if t.elems.len() == 2 => {
                    *slot = Some((t.elems[0].clone(), t.elems[1].clone()));
                    Ok(())
                }
                other => Err(syn::Error::new_spanned(
                    other,
                    "expected a (key type, value type) pair, e.g. `(String, i64)`",
                )),
            }
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    let hint = "#[derive(Processor)] needs `#[processor(input = (K, V), output = (K, V))]` naming the key and value types it receives and forwards";
    if !seen {
        cx.error_spanned_by(&input.ident, hint);
    } else {
        for (missing, what) in [(io.input.is_none(), "input"), (io.output.is_none(), "output")] {
            if missing {
                cx.error_spanned_by(&input.ident, format!("missing `{what} = (K, V)`: {hint}"));
            }
        }
    }
    io
}

fn parse_fields(cx: &Ctxt, input: &DeriveInput) -> Vec<Field> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            Fields::Unit => return Vec::new(),
            Fields::Unnamed(_) => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Processor)] needs a struct with named fields (or a unit struct)",
                );
                return Vec::new();
            }
        },
        _ => {
            cx.error_spanned_by(&input.ident, "#[derive(Processor)] works on structs only");
            return Vec::new();
        }
    };
    fields
        .iter()
        .map(|f| {
            let ident = f.ident.clone().expect("named field");
            let mut store = None;
            for attr in f.attrs.iter().filter(|a| a.path().is_ident("store")) {
                store = match &attr.meta {
                    syn::Meta::Path(_) => Some(LitStr::new(&ident.to_string(), ident.span())),
                    _ => match attr.parse_args::<LitStr>() {
                        Ok(name) => Some(name),
                        Err(_) => {
                            cx.error_spanned_by(attr, "expected `#[store]` or `#[store(\"store-name\")]`");
                            None
                        }
                    },
                };
            }
            Field {
                ident,
                ty: f.ty.clone(),
                store,
            }
        })
        .collect()
}
