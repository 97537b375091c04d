//! `/opendata/v1`: what the installation publishes, for anyone and without a tenant header:
//! the DCAT-AP.de catalogue of every tenant's published progress reports (Turtle by default,
//! JSON-LD on request) and the reports themselves. A report that is not published answers
//! exactly like one that does not exist.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use ngsild_proto::ErrorType;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, only};

/// The RDF syntaxes the catalogue is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Turtle,
    JsonLd,
}

/// Picks the syntax from Accept (q-values honoured; an exact type beats a wildcard of the
/// same q); Turtle when there is no Accept.
fn syntax(headers: &HeaderMap) -> ApiResult<Syntax> {
    let Some(raw) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Syntax::Turtle);
    };
    let mut best: Option<(f32, u8, Syntax)> = None;
    for (mt, q) in crate::extract::accept_ranges(raw) {
        let found = match mt.as_str() {
            "text/turtle" => Some((2, Syntax::Turtle)),
            "application/ld+json" | "application/json" => Some((2, Syntax::JsonLd)),
            "text/*" => Some((1, Syntax::Turtle)),
            "application/*" => Some((1, Syntax::JsonLd)),
            "*/*" => Some((0, Syntax::Turtle)),
            _ => None,
        };
        if let Some((specific, s)) = found
            && q > 0.0
            && best.is_none_or(|(bq, bs, _)| (q, specific) > (bq, bs))
        {
            best = Some((q, specific, s));
        }
    }
    best.map(|(_, _, s)| s).ok_or_else(|| {
        ApiError::new(
            ErrorType::NotAcceptable,
            format!("the catalogue is served as text/turtle or application/ld+json, not {raw}"),
        )
    })
}

/// GET /opendata/v1/catalog: the DCAT-AP.de catalogue.
pub async fn catalog(State(st): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let syntax = syntax(&headers)?;
    let reports = st.leitstelle.published().await?;
    let g = ::opendata::catalog(&st.config.opendata, &st.config.public_base, &reports);
    let (media, body) = match syntax {
        Syntax::Turtle => ("text/turtle; charset=utf-8", g.turtle()),
        Syntax::JsonLd => ("application/ld+json", g.json_ld().to_string()),
    };
    Ok((
        [(header::CONTENT_TYPE, media), (header::VARY, "Accept")],
        body,
    )
        .into_response())
}

/// GET /opendata/v1/reports/{tenant}/{id}.html|.pdf: a published report of a tenant.
pub async fn report(
    State(st): State<AppState>,
    Path((tenant, file)): Path<(String, String)>,
    Query(p): Query<Params>,
) -> ApiResult<Response> {
    serve(&st, &tenant, &file, &p).await
}

/// GET /opendata/v1/reports/{id}.html|.pdf: a published report of the default tenant.
pub async fn default_report(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Response> {
    serve(&st, "", &file, &p).await
}

/// The report as the Leitstelle renders it (`lang` as there), in the file's format.
async fn serve(st: &AppState, tenant: &str, file: &str, p: &Params) -> ApiResult<Response> {
    only(p, &["lang"])?;
    let (_, _, lang) = crate::leitstelle::report_params(p)?;
    let Some((id, ext)) = file
        .rsplit_once('.')
        .filter(|(_, ext)| matches!(*ext, "html" | "pdf"))
    else {
        return Err(ApiError::new(
            ErrorType::ResourceNotFound,
            format!("no file '{file}': a published report is served as <id>.html or <id>.pdf"),
        ));
    };
    let (r, prev) = st.leitstelle.published_report(tenant, id).await?;
    let d = leitstelle::report::diff(prev.as_ref().map(|x| &x.snapshot), &r.snapshot);
    crate::leitstelle::render_as(Some(ext), &r.snapshot, &d, &lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: Option<&str>) -> Result<Syntax, u16> {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, a.parse().unwrap());
        }
        syntax(&h).map_err(|e| e.0.kind.status())
    }

    #[test]
    fn turtle_unless_json_ld_is_preferred() {
        assert_eq!(pick(None), Ok(Syntax::Turtle));
        assert_eq!(pick(Some("*/*")), Ok(Syntax::Turtle));
        assert_eq!(pick(Some("application/ld+json")), Ok(Syntax::JsonLd));
        assert_eq!(pick(Some("*/*, application/ld+json")), Ok(Syntax::JsonLd));
        assert_eq!(
            pick(Some("text/turtle;q=0.5, application/ld+json;q=0.9")),
            Ok(Syntax::JsonLd)
        );
        assert_eq!(
            pick(Some("application/ld+json;q=0, */*;q=0.1")),
            Ok(Syntax::Turtle)
        );
        assert_eq!(pick(Some("application/rdf+xml")), Err(406));
    }
}
