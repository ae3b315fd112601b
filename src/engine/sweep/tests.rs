use super::*;

#[test]
fn lambda_deadlines_are_epoch_milliseconds() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let d = deadline_from_context(1_795_000_900_000, now);
    assert_eq!(d.duration_since(now).unwrap(), Duration::from_secs(900));
}

#[test]
fn the_emulators_timeout_is_read_as_time_from_now() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let d = deadline_from_context(600_000, now);
    assert_eq!(d.duration_since(now).unwrap(), Duration::from_secs(600));
}

#[tokio::test]
async fn the_margin_never_eats_the_whole_sweep_and_half_of_it_is_kept_for_the_answer() {
    let options = SweepOptions {
        concurrency: 1,
        requests_per_second: 10.0,
        deadline: Some(SystemTime::now() + Duration::from_secs(100)),
        safety_margin: Duration::from_secs(20),
        budget: None,
        sweep_number: 0,
    };
    let stops = Stops::new(&options);
    let now = Instant::now();
    let start_by = stops.start_by.unwrap() - now;
    let done_by = stops.done_by.unwrap() - now;
    assert!(start_by <= Duration::from_secs(80) && start_by > Duration::from_secs(79));
    assert!(done_by <= Duration::from_secs(90) && done_by > Duration::from_secs(89));
    let short = SweepOptions {
        deadline: Some(SystemTime::now() + Duration::from_secs(2)),
        ..options
    };
    let stops = Stops::new(&short);
    assert!(stops.start_by.unwrap() - Instant::now() > Duration::from_secs(1));
    assert!(stops.bounded(std::future::pending::<()>()).await.is_none());
}
