//! `GET /metrics`: Prometheus text exposition.

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(render));
}

async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}
