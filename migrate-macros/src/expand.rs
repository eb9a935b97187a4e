//! Emits what the attributes expand to: the user's function unchanged, the
//! compile-time checks, and the `inventory` registration.
//!
//! Generated code names everything by absolute path through
//! `::migrate_core::__private` and never relies on the user's imports.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Ident, ItemFn, LitStr};

use crate::args::{self, MigrationArgs, Phase};
use crate::check::{self, Kind};
use crate::checksum::checksum;
use crate::errors::Errors;
use crate::sql_check;

/// Expands `#[migration(args)] item`.
pub(crate) fn migration(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(error) => return not_a_function(error, "#[migration]", item),
    };
    let mut errors = Errors::default();
    let fn_name = unraw(&function.sig.ident);
    let args = args::parse_migration(args, &fn_name, &mut errors);
    check::function(&function, Kind::Migration, &mut errors);
    if !args
        .allow
        .iter()
        .any(|rule| rule.rule.replace('-', "_") == sql_check::ALLOW_ID)
    {
        sql_check::body(
            function.block.to_token_stream(),
            sql_check::In::Migration,
            &mut errors,
        );
    }
    match (&args.version, errors.is_empty()) {
        (Some(version), true) => register_migration(&function, &args, version.value),
        // On any error, emit the function as written next to the errors, so
        // the rest of the crate (and the down function) see no cascade.
        _ => {
            let mut out = errors.into_compile_errors();
            out.extend(item);
            out
        }
    }
}

/// Expands `#[health_check(args)] item`.
pub(crate) fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(error) => return not_a_function(error, "#[health_check]", item),
    };
    let mut errors = Errors::default();
    let args = args::parse_health_check(args, &mut errors);
    check::function(&function, Kind::HealthCheck, &mut errors);
    sql_check::body(
        function.block.to_token_stream(),
        sql_check::In::HealthCheck,
        &mut errors,
    );
    if !errors.is_empty() {
        let mut out = errors.into_compile_errors();
        out.extend(item);
        return out;
    }
    let ident = &function.sig.ident;
    let name = args
        .name
        .unwrap_or_else(|| LitStr::new(&unraw(ident), ident.span()));
    let description = description(&function);
    let run = fn_pointer(
        &format_ident!("__migrate_run"),
        &quote!(#ident),
        ident.span(),
    );
    quote! {
        #function

        const _: () = {
            #run
            ::migrate_core::__private::inventory::submit! {
                ::migrate_core::__private::HealthCheck {
                    name: #name,
                    description: #description,
                    run: __migrate_run,
                    file: ::core::file!(),
                    line: ::core::line!(),
                }
            }
        };
    }
}

/// The item is not a function: say where the attribute belongs and keep
/// the item as written.
fn not_a_function(error: syn::Error, attribute: &str, item: TokenStream) -> TokenStream {
    let message = format!("`{attribute}` goes on an `async fn(db: &mut Db) -> Result<()>`");
    let mut out = syn::Error::new(error.span(), message).to_compile_error();
    out.extend(item);
    out
}

/// The registration of a migration whose arguments and function passed
/// every syntactic check.
fn register_migration(function: &ItemFn, args: &MigrationArgs, version: u64) -> TokenStream {
    let ident = &function.sig.ident;
    let fn_name = unraw(ident);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&fn_name, ident.span()));
    let description = description(function);
    let checksum = checksum(&function.block.to_token_stream());
    let transaction = args.transaction.as_ref().is_none_or(|lit| lit.value);
    let phase = match args.phase {
        Some(Phase::Contract) => quote!(::migrate_core::__private::Phase::Contract),
        Some(Phase::Expand) | None => quote!(::migrate_core::__private::Phase::Expand),
    };
    let allow = args.allow.iter().map(|rule| {
        let (rule, reason) = (&rule.rule, &rule.reason);
        quote!((#rule, #reason))
    });
    let version_span = args.version.as_ref().map_or(Span::call_site(), |v| v.span);
    let version_guard = version_guard(version, version_span);

    let up = fn_pointer(
        &format_ident!("__migrate_up"),
        &quote!(#ident),
        ident.span(),
    );
    let mut fallback = TokenStream::new();
    let (down, down_field, reason_field) = match (&args.reversible, &args.irreversible) {
        (Some(keyword), _) => {
            let path = match &args.down {
                Some(path) => path.clone(),
                None => {
                    let down = format!("{fn_name}_down");
                    syn::Path::from(Ident::new(&down, keyword.span()))
                }
            };
            if let Some(down) = path.get_ident() {
                fallback = missing_down_fallback(&fn_name, down, args.down.is_some());
            }
            let span = path
                .segments
                .last()
                .map_or(Span::call_site(), |s| s.ident.span());
            let down = fn_pointer(&format_ident!("__migrate_down"), &quote!(#path), span);
            (
                down,
                quote!(::core::option::Option::Some(__migrate_down)),
                quote!(::core::option::Option::None),
            )
        }
        (None, Some((_, reason))) => (
            TokenStream::new(),
            quote!(::core::option::Option::None),
            quote!(::core::option::Option::Some(#reason)),
        ),
        (None, None) => unreachable!(
            "the parser reports a migration that is neither reversible nor irreversible"
        ),
    };

    quote! {
        #function

        #version_guard

        #fallback

        const _: () = {
            #up
            #down
            ::migrate_core::__private::inventory::submit! {
                ::migrate_core::__private::Migration {
                    version: #version,
                    name: #name,
                    description: #description,
                    up: __migrate_up,
                    down: #down_field,
                    irreversible_reason: #reason_field,
                    transaction: #transaction,
                    phase: #phase,
                    allow: &[#(#allow),*],
                    file: ::core::file!(),
                    line: ::core::line!(),
                    checksum: #checksum,
                    crate_name: ::core::env!("CARGO_PKG_NAME"),
                }
            }
        };
    }
}

/// A function with the registered pointer's signature calling `target`
/// through `MigrationFn`, so a wrong signature is reported with that trait's
/// message, spanned at `target`.
fn fn_pointer(name: &Ident, target: &TokenStream, span: Span) -> TokenStream {
    // Spanned at the function's name: the trait error (wrong signature) and
    // the coercion error (future not `Send`) are reported there. Coercing in
    // place, rather than through a helper with a `Send` bound, keeps the
    // `Send` error free of a note pointing into migrate-core.
    let call = quote_spanned! {span=>
        ::std::boxed::Box::pin(<_ as ::migrate_core::__private::MigrationFn<'a, _>>::call(#target, db))
    };
    quote! {
        fn #name<'a>(
            db: &'a mut ::migrate_core::__private::Db,
        ) -> ::migrate_core::__private::BoxFuture<'a, ::migrate_core::__private::Result<()>> {
            #call
        }
    }
}

/// An exported macro named after the version: two migrations with the same
/// version in one crate, in any modules, clash on it (E0428), and the
/// compiler points at both version literals.
fn version_guard(version: u64, span: Span) -> TokenStream {
    let ident = Ident::new(
        &format!("__migration_version_{}", display_version(version)),
        span,
    );
    quote_spanned! {span=>
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #ident { () => {}; }
    }
}

/// A hidden module holding a stand-in named like the down function,
/// glob-imported into the migration's scope, and a `const` check that fails
/// with a message naming the function and the fix when the stand-in is what
/// the name resolves to.
///
/// A real function of that name shadows a glob import, so the stand-in is
/// only picked when the down function is missing. A plain reference to a
/// missing name would instead get rustc's suggestion to rename `reversible`.
fn missing_down_fallback(fn_name: &str, down: &Ident, explicit: bool) -> TokenStream {
    let down_name = unraw(down);
    let module = Ident::new(&format!("__migration_{fn_name}"), Span::mixed_site());
    let message = if explicit {
        format!(
            "the down function `{down_name}` of migration `{fn_name}` does not exist: \
             write `async fn {down_name}(db: &mut Db) -> Result<()>` in this module, or fix the `down = {down_name}` path"
        )
    } else {
        format!(
            "migration `{fn_name}` is `reversible` but its down function `{down_name}` does not exist: \
             write `async fn {down_name}(db: &mut Db) -> Result<()>` in this module, name another one with `down = path`, \
             or declare the migration `irreversible = \"reason\"`"
        )
    };
    let panic = quote_spanned!(down.span()=> ::core::panic!(#message));
    // Named so that rustc's "evaluation of `...` failed here" says what failed.
    let check = Ident::new(
        &format!("{}_HAS_DOWN_FN", fn_name.to_uppercase()),
        down.span(),
    );
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_upper_case_globals)]
        mod #module {
            pub(super) const #down: ::migrate_core::__private::MissingDownFn =
                ::migrate_core::__private::MissingDownFn::NEW;
        }
        #[allow(unused_imports)]
        use #module::*;

        #[allow(dead_code)]
        const #check: () = if ::migrate_core::__private::is_missing_down(&#down) {
            #panic
        };
    }
}

/// The first non-empty line of the doc comment, or an empty string.
fn description(function: &ItemFn) -> String {
    function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(lit),
                    ..
                }) => Some(lit.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|doc| doc.lines().map(str::to_owned).collect::<Vec<_>>())
        .map(|line| line.trim().to_owned())
        .find(|line| !line.is_empty())
        .unwrap_or_default()
}

/// An identifier without its `r#` prefix.
fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
}

/// 14-digit timestamps as `YYYYMMDD_HHMMSS`, other versions as they are.
fn display_version(version: u64) -> String {
    let digits = version.to_string();
    if digits.len() == 14 {
        format!("{}_{}", &digits[..8], &digits[8..])
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &str, item: &str) -> String {
        migration(args.parse().expect("args"), item.parse().expect("item")).to_string()
    }

    #[test]
    fn registers_a_reversible_migration() {
        let out = expand(
            "20241124_120000, reversible",
            "/// Adds users.\n///\n/// More.\nasync fn create_users(db: &mut Db) -> Result<()> { Ok(()) }",
        );
        assert!(out.contains("version : 20241124120000u64"), "{out}");
        assert!(out.contains("description : \"Adds users.\""), "{out}");
        assert!(out.contains("call (create_users_down , db)"), "{out}");
        assert!(out.contains("__migration_version_20241124_120000"), "{out}");
        assert!(out.contains("is_missing_down"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn registers_an_irreversible_migration_without_down() {
        let out = expand(
            "version = 3, irreversible = \"drops rows\", transaction = false, phase = contract, name = \"Purge\"",
            "async fn purge(db: &mut Db) -> Result<()> { Ok(()) }",
        );
        assert!(
            out.contains("down : :: core :: option :: Option :: None"),
            "{out}"
        );
        assert!(out.contains("Some (\"drops rows\")"), "{out}");
        assert!(out.contains("transaction : false"), "{out}");
        assert!(out.contains("Phase :: Contract"), "{out}");
        assert!(out.contains("name : \"Purge\""), "{out}");
        assert!(!out.contains("is_missing_down"), "{out}");
    }

    #[test]
    fn explicit_multi_segment_down_path_has_no_fallback() {
        let out = expand(
            "1, reversible, down = downs::one",
            "async fn one(db: &mut Db) -> Result<()> { Ok(()) }",
        );
        assert!(out.contains("call (downs :: one , db)"), "{out}");
        assert!(!out.contains("is_missing_down"), "{out}");
    }

    #[test]
    fn keeps_the_function_on_error() {
        let out = expand(
            "0, frobnicate",
            "fn up(db: &mut Db) -> Result<()> { Ok(()) }",
        );
        assert_eq!(out.matches("compile_error").count(), 4, "{out}");
        assert!(
            out.ends_with("fn up (db : & mut Db) -> Result < () > { Ok (()) }"),
            "{out}"
        );
        assert!(!out.contains("inventory"), "{out}");
    }

    #[test]
    fn checksum_ignores_the_signature_and_attribute() {
        let a = expand(
            "1, irreversible = \"x\"",
            "async fn a(db: &mut Db) -> Result<()> { Ok(()) }",
        );
        let b = expand(
            "2, irreversible = \"y\"",
            "/// Doc.\npub async fn b(d: &mut Db) -> Result<()> {\n    Ok(())\n}",
        );
        let sum = |s: &str| s.split("checksum : ").nth(1).map(|t| t[..66].to_owned());
        assert_eq!(sum(&a), sum(&b));
    }

    #[test]
    fn health_check_registers() {
        let out = health_check(
            TokenStream::new(),
            "async fn orders(db: &mut Db) -> Result<()> { Ok(()) }"
                .parse()
                .expect("item"),
        )
        .to_string();
        assert!(out.contains("HealthCheck"), "{out}");
        assert!(out.contains("name : \"orders\""), "{out}");
    }
}
