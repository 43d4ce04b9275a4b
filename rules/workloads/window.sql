-- window: partitioned, ordered window functions over every trip, per pickup zone and day:
--   rank() by total amount; lag/lead: seconds since the zone's previous pickup and until its next;
--   a running sum of the day's revenue and a running trip count, in pickup order.
-- The two orderings need two sorts of the shuffled trips. Bounded: only each zone-day's three
-- highest-paying trips are kept (rank <= 3; tied amounts share a rank, so a few more at most),
-- so the result is at most a few rows per (zone, day) and never more than trips.
-- plan: Window, Sort, Exchange
WITH trips_by_day AS (
  SELECT
    PULocationID AS pickup_zone,
    CAST(tpep_pickup_datetime AS DATE) AS pickup_date,
    tpep_pickup_datetime AS pickup_at,
    trip_distance,
    total_amount
  FROM trips
),
windowed AS (
  SELECT
    pickup_zone,
    pickup_date,
    pickup_at,
    trip_distance,
    total_amount,
    rank() OVER (PARTITION BY pickup_zone, pickup_date ORDER BY total_amount DESC) AS amount_rank,
    timestampdiff(SECOND,
      lag(pickup_at) OVER (PARTITION BY pickup_zone, pickup_date ORDER BY pickup_at),
      pickup_at) AS s_since_prev_pickup,
    timestampdiff(SECOND,
      pickup_at,
      lead(pickup_at) OVER (PARTITION BY pickup_zone, pickup_date ORDER BY pickup_at)) AS s_to_next_pickup,
    sum(total_amount) OVER (PARTITION BY pickup_zone, pickup_date ORDER BY pickup_at
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_revenue,
    count(*) OVER (PARTITION BY pickup_zone, pickup_date ORDER BY pickup_at
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS trip_of_day
  FROM trips_by_day
)
SELECT *
FROM windowed
WHERE amount_rank <= 3
