//! `GET /metrics`: Prometheus text exposition.

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;

/// Prometheus metrics (requests, assignments, events, store and plugin failures).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain")))]
pub(crate) async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}
