//! `GET /v1/layers`: the layer map — who owns which range of each layer.

use crate::service::layers::{self, Layer};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct LayerMap {
    /// Every layer a definition names, by name.
    pub layers: Vec<Layer>,
}

/// The layer map: per layer, every experiment that names it (any status) with its range, and
/// the `free` ranges no running experiment holds — where a new one can start.
#[utoipa::path(get, path = "/v1/layers", tag = "experiments",
    responses((status = 200, description = "The layer map", body = LayerMap)))]
pub(crate) async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(LayerMap {
        layers: layers::map(&state.catalog.load()),
    })
}
