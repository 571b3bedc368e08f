//! Layers across experiments: refusing a start that would overlap a running experiment of the
//! same layer, and the layer map (`GET /v1/layers`).

use crate::catalog::Catalog;
use crate::error::ServiceError;
use serde::Serialize;
use std::collections::BTreeMap;
use touchstone_model::{Experiment, Status};
use utoipa::ToSchema;

/// An error naming the first running experiment (by key) whose range in `next`'s layer
/// overlaps `next`'s, if `next` runs.
pub fn check_overlap(catalog: &Catalog, next: &Experiment) -> Result<(), ServiceError> {
    if !next.is_running() {
        return Ok(());
    }
    let Some(layer) = next.layer() else {
        return Ok(());
    };
    let clash = catalog
        .running()
        .iter()
        .filter(|other| other.key() != next.key())
        .find_map(|other| next.layer_overlap(other).map(|overlap| (other, overlap)));
    match clash {
        Some((other, overlap)) => Err(ServiceError::LayerOverlap {
            layer: layer.name.clone(),
            other: other.key().to_owned(),
            overlap,
        }),
        None => Ok(()),
    }
}

/// One experiment's place in a layer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Occupant {
    pub experiment: String,
    pub status: Status,
    pub range: [f64; 2],
}

/// Who owns which range of one layer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Layer {
    pub name: String,
    /// Every experiment that names the layer, by range start (a draft or stopped one holds
    /// nothing; it is listed so the map shows what is planned and what ran).
    pub experiments: Vec<Occupant>,
    /// The parts of `[0, 1)` no running experiment owns: where a new one can start.
    pub free: Vec<[f64; 2]>,
}

/// The layer map: every layer named by a definition, by name.
pub fn map(catalog: &Catalog) -> Vec<Layer> {
    let mut layers: BTreeMap<&str, Vec<Occupant>> = BTreeMap::new();
    for experiment in catalog.all() {
        if let Some(layer) = experiment.layer() {
            layers.entry(&layer.name).or_default().push(Occupant {
                experiment: experiment.key().to_owned(),
                status: experiment.status(),
                range: layer.range,
            });
        }
    }
    layers
        .into_iter()
        .map(|(name, mut experiments)| {
            experiments.sort_by(|a, b| a.range[0].total_cmp(&b.range[0]));
            let free = free_ranges(
                experiments
                    .iter()
                    .filter(|occupant| occupant.status == Status::Running)
                    .map(|occupant| occupant.range),
            );
            Layer {
                name: name.to_owned(),
                experiments,
                free,
            }
        })
        .collect()
}

/// The complement in `[0, 1)` of the union of `taken` ranges.
fn free_ranges(taken: impl Iterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    let mut taken: Vec<[f64; 2]> = taken.collect();
    taken.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut free = Vec::new();
    let mut cursor = 0.0_f64;
    for [start, end] in taken {
        if start > cursor {
            free.push([cursor, start]);
        }
        cursor = cursor.max(end);
    }
    if cursor < 1.0 {
        free.push([cursor, 1.0]);
    }
    free
}

#[cfg(test)]
mod tests {
    use super::free_ranges;

    #[test]
    fn free_ranges_are_the_gaps_between_running_ranges() {
        let free = free_ranges([[0.5, 0.7], [0.1, 0.2], [0.15, 0.3]].into_iter());
        assert_eq!(free, vec![[0.0, 0.1], [0.3, 0.5], [0.7, 1.0]]);
        assert_eq!(
            free_ranges([[0.0, 1.0]].into_iter()),
            Vec::<[f64; 2]>::new()
        );
        assert_eq!(free_ranges(std::iter::empty()), vec![[0.0, 1.0]]);
    }
}
