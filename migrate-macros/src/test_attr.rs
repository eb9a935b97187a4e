//! `#[migrate_core::test]`: turns an `async fn` taking `&mut Db` (or
//! `&mut TestDatabase`) into a `#[test]` that runs it on a fresh, migrated
//! database, through `migrate_core::testing::run`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, LitStr};

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    up_to: Option<Expr>,
    env: Option<LitStr>,
    url: Option<Expr>,
}

fn parse_args(args: TokenStream) -> syn::Result<Args> {
    let mut out = Args::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let duplicate = || meta.error(format!("`{key}` is given twice"));
        match key.as_str() {
            "up_to" => {
                if out.up_to.is_some() {
                    return Err(duplicate());
                }
                out.up_to = Some(meta.value()?.parse()?);
            }
            "env" => {
                if out.env.is_some() {
                    return Err(duplicate());
                }
                out.env = Some(meta.value()?.parse()?);
            }
            "url" => {
                if out.url.is_some() {
                    return Err(duplicate());
                }
                out.url = Some(meta.value()?.parse()?);
            }
            _ => {
                return Err(meta.error(
                    "unknown argument; expected `up_to = <version>`, `env = \"VAR\"` or `url = <expression>`",
                ));
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    if let (Some(env), Some(_)) = (&out.env, &out.url) {
        return Err(syn::Error::new(
            env.span(),
            "give `env = \"VAR\"` or `url = <expression>`, not both",
        ));
    }
    Ok(out)
}

/// Expands `#[migrate_core::test(args)] item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(args)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "#[migrate_core::test] needs an `async fn`: it runs the body on a tokio runtime",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a #[migrate_core::test] function cannot be generic",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(v.span(), "a test function is not variadic"));
    }
    let mut inputs = sig.inputs.iter();
    let first = inputs.next();
    if let Some(extra) = inputs.next() {
        return Err(syn::Error::new(
            extra.span(),
            "a #[migrate_core::test] function takes one argument: `&mut Db` or `&mut TestDatabase`",
        ));
    }
    let (param, arg) = match first {
        None => (quote!(_), quote!()),
        Some(FnArg::Receiver(r)) => {
            return Err(syn::Error::new(
                r.span(),
                "a #[migrate_core::test] function is a free function, without `self`",
            ));
        }
        Some(FnArg::Typed(t)) => {
            let ty = &t.ty;
            (
                quote!(__migrate_test),
                quote_spanned! {ty.span()=>
                    <#ty as ::migrate_core::testing::TestArg<'_>>::from_test(__migrate_test)
                },
            )
        }
    };

    let base = match (&args.env, &args.url) {
        (_, Some(url)) => quote_spanned! {url.span()=> ::migrate_core::testing::Base::url(#url) },
        (Some(env), None) => quote!(::migrate_core::testing::Base::Env(#env)),
        (None, None) => quote!(::migrate_core::testing::Base::Env("DATABASE_URL")),
    };
    let up_to = match &args.up_to {
        Some(v) => quote_spanned! {v.span()=> ::core::option::Option::Some::<u64>(#v) },
        None => quote!(::core::option::Option::None),
    };

    let attrs = &func.attrs;
    let vis = &func.vis;
    let ident = &sig.ident;
    let output = &sig.output;
    let mut inner = func.clone();
    inner.attrs.clear();
    inner.vis = syn::Visibility::Inherited;
    let call = Span::call_site();
    Ok(quote_spanned! {call=>
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #ident() #output {
            #inner
            ::migrate_core::testing::run(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                #base,
                #up_to,
                |#param| ::std::boxed::Box::pin(#ident(#arg)),
            )
        }
    })
}
