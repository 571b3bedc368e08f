//! The store's one integration-test binary: the conformance suite against every backend, and
//! Redis-only behaviour (concurrency, restart, unavailability, definitions).

mod concurrency;
mod conformance;
mod fixtures;
mod marker_expiry;
mod phases;
mod redis_faults;
mod redis_refusals;

use std::sync::Arc;
use touchstone_store::{MemoryStore, Store};
use touchstone_testkit::redis::{RedisCluster, RedisServer};

/// Generates one `#[tokio::test]` per conformance case for a backend.
macro_rules! conformance_tests {
    ($make:expr, $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store: std::sync::Arc<dyn touchstone_store::Store> = $make.await;
                crate::conformance::$case(&*store).await;
            }
        )*
    };
}

macro_rules! all_conformance_tests {
    ($make:expr) => {
        conformance_tests!(
            $make,
            first_exposure_wins_and_moves_the_unit_counter_once,
            events_before_exposure_or_outside_the_window_are_not_counted,
            each_unit_reaches_a_stage_once_timed_by_its_first_arrival,
            a_repeated_id_and_a_retried_batch_are_never_counted_twice,
            an_event_counts_for_every_experiment_the_unit_is_exposed_to,
            sum_count_and_conversion_metrics_are_moments_of_per_unit_values,
            a_conversion_window_may_open_after_exposure,
            an_nps_answer_replaces_the_units_previous_answer,
            a_mean_metric_moves_with_each_of_the_units_values,
            definitions_are_versioned_and_reload_as_saved,
            a_conditional_save_refuses_a_moved_version,
            find_exposures_reads_without_recording,
            slices_count_each_unit_where_its_first_exposure_put_it,
            a_days_snapshot_is_replaced_and_days_load_oldest_first,
            audit_logs_read_newest_first_per_experiment_and_globally,
            one_of_many_racing_guardrail_claims_wins_until_it_expires,
            a_released_guardrail_claim_can_be_taken_again_at_once,
            a_new_phase_starts_from_zero_counters,
            an_earlier_phase_stays_readable_and_unchanged,
            holdouts_are_versioned_with_the_definitions_and_reload_as_saved,
            a_conditional_holdout_save_refuses_a_moved_version,
            a_holdouts_synthetic_experiment_counts_like_any_experiment,
            plugin_health_adds_up_per_variant_and_reads_zeros_before_any_call,
            a_session_is_known_until_revoked_or_expired,
            a_module_and_its_binding_change_together_under_the_definitions_version,
            two_names_may_share_one_module,
            heartbeats_list_the_servers_that_have_not_expired,
            segment_slices_never_share_a_key,
            a_batch_over_several_experiments_counts_each_as_alone,
            covariates_are_taken_once_at_exposure_and_missing_ones_count_as_zero,
            sums_of_products_move_by_x_times_each_change_of_a_units_value,
            each_slice_keeps_the_covariate_sums_of_its_own_units,
            a_new_phase_keeps_covariate_sums_from_zero,
            a_unit_exposed_before_its_covariate_was_declared_counts_as_missing,
        );
    };
}

async fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn redis_single() -> Arc<dyn Store> {
    touchstone_store::open(&RedisServer::shared().url())
        .await
        .expect("open redis")
}

async fn redis_cluster() -> Arc<dyn Store> {
    touchstone_store::open(&RedisCluster::shared().url())
        .await
        .expect("open redis cluster")
}

mod memory_store {
    all_conformance_tests!(super::memory());
}

mod redis_store {
    all_conformance_tests!(super::redis_single());
}

mod redis_cluster_store {
    all_conformance_tests!(super::redis_cluster());
}
