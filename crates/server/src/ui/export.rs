//! `GET /ui/experiments/{key}/results.csv[?phase=N]`: the results as the page shows them, one
//! row per stage or metric and variant, for a spreadsheet. The JSON export is the API's own
//! document (`GET /v1/experiments/{key}/results`), linked from the page.

use crate::error::ServiceError;
use crate::service::results;
use crate::state::AppState;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use std::fmt::Write;
use touchstone_stats::analysis::{Comparison, Results};

#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    phase: Option<u32>,
}

pub(crate) async fn results_csv(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: Result<web::Query<ExportQuery>, actix_web::Error>,
) -> Result<HttpResponse, ServiceError> {
    let web::Query(query) = query.map_err(|error| ServiceError::BadRequest {
        field: "phase".into(),
        message: error.to_string(),
    })?;
    let document = results::results(&state, &key, query.phase).await?;
    let file = format!(
        "{}-phase-{}-results.csv",
        key.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
            "_"
        ),
        document.phase.phase
    );
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(csv(&document.results)))
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-`
/// or `@` of text is defused so a spreadsheet does not run it as a formula.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn number(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// The columns of one comparison (empty for control).
fn comparison_columns(comparison: Option<&Comparison>) -> String {
    let Some(c) = comparison else {
        return ",,,,,,".into();
    };
    let ci = c.relative.ci.unwrap_or([f64::NAN, f64::NAN]);
    format!(
        "{},{},{},{},{},{},{}",
        number(c.relative.estimate),
        number(Some(ci[0])),
        number(Some(ci[1])),
        number(c.p_value),
        number(c.adjusted_p_value),
        c.significant,
        number(c.chance_to_beat_control),
    )
}

pub fn csv(results: &Results) -> String {
    let mut out = String::from(
        "kind,name,variant,units,value,relative_effect,ci_low,ci_high,p_value,adjusted_p_value,significant,chance_to_beat_control\n",
    );
    for stage in &results.stages {
        for cell in &stage.variants {
            let _ = writeln!(
                out,
                "stage,{},{},{},{},{}",
                field(&stage.stage),
                field(&cell.key),
                cell.units,
                number(cell.rate),
                comparison_columns(cell.vs_control.as_ref()),
            );
        }
    }
    for metric in &results.metrics {
        for cell in &metric.variants {
            let _ = writeln!(
                out,
                "metric,{},{},{},{},{}",
                field(&metric.metric),
                field(&cell.key),
                cell.units,
                number(cell.mean),
                comparison_columns(cell.vs_control.as_ref()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("purchase"), "purchase");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-0.5"), "-0.5");
    }
}
