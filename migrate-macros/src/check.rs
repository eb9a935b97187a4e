//! Checks the annotated function's shape where syntax alone can tell; the
//! argument and return types are checked by the compiler through
//! `migrate_core::__private::MigrationFn`, whose message says what is expected.

use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

use crate::errors::Errors;

/// Which attribute the function carries, for messages.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `#[migration]`.
    Migration,
    /// `#[health_check]`.
    HealthCheck,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Migration => "a migration",
            Kind::HealthCheck => "a health check",
        }
    }
}

/// Reports what makes `function` unusable as `kind`: not `async`, generic,
/// `const`, `unsafe`, `extern`, variadic, or a method.
pub(crate) fn function(function: &ItemFn, kind: Kind, errors: &mut Errors) {
    let sig = &function.sig;
    let noun = kind.noun();
    let expected = format!(
        "`async fn {}(db: &mut Db) -> Result<()>`",
        sig.ident.to_string().trim_start_matches("r#")
    );
    if let Some(constness) = &sig.constness {
        errors.spanned(
            constness,
            format!("{noun} cannot be a `const fn`: write {expected}"),
        );
    }
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!("{noun} must be an `async fn`: write {expected}"),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(
            unsafety,
            format!("{noun} cannot be `unsafe`: write {expected}"),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(
            abi,
            format!("{noun} cannot have an `extern` ABI: write {expected}"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let span = match &sig.generics.where_clause {
            Some(clause) if sig.generics.params.is_empty() => clause.span(),
            _ => sig.generics.span(),
        };
        errors.at(
            span,
            format!("{noun} cannot be generic: the runtime calls it with no type to choose; write {expected}"),
        );
    }
    if let Some(receiver) = sig
        .inputs
        .iter()
        .find(|input| matches!(input, FnArg::Receiver(_)))
    {
        errors.spanned(
            receiver,
            format!("{noun} is a free function, not a method: write {expected} outside any `impl`"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(
            variadic,
            format!("{noun} cannot be variadic: write {expected}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Vec<String> {
        let function: ItemFn = syn::parse_str(src).expect("a function");
        let mut errors = Errors::default();
        super::function(&function, Kind::Migration, &mut errors);
        errors.messages()
    }

    #[test]
    fn accepts_an_async_fn() {
        assert!(check("async fn up(db: &mut Db) -> Result<()> { Ok(()) }").is_empty());
    }

    #[test]
    fn rejects_a_plain_fn() {
        let errors = check("fn up(db: &mut Db) -> Result<()> { Ok(()) }");
        assert_eq!(
            errors,
            ["a migration must be an `async fn`: write `async fn up(db: &mut Db) -> Result<()>`"]
        );
    }

    #[test]
    fn rejects_generics_and_where_clauses() {
        assert_eq!(
            check("async fn up<T>(db: &mut Db) -> Result<()> { Ok(()) }").len(),
            1
        );
        assert_eq!(
            check("async fn up(db: &mut Db) -> Result<()> where u8: Copy { Ok(()) }").len(),
            1
        );
    }

    #[test]
    fn rejects_methods() {
        let errors = check("async fn up(&self, db: &mut Db) -> Result<()> { Ok(()) }");
        assert!(errors[0].contains("not a method"), "{errors:?}");
    }
}
