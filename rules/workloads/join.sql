-- join: every trip against its route's statistics, then both of its zones looked up.
--   * trips x route_stats on (pickup zone, drop-off zone): a shuffle sort-merge join (MERGE hint:
--     both sides are exchanged and sorted on the route key, though route_stats is small enough
--     to broadcast);
--   * x zones twice, on the pickup zone and on the drop-off zone (265 rows: broadcast hash joins).
-- Bounded: route_stats has one row per route and LocationID is unique in zones, so each trip
-- matches at most one row of each and the join yields at most one row per trip (never a
-- cross product). Kept: trips charged more than twice their route's mean fare, compared in whole
-- cents so the result does not depend on floating-point summation order.
-- plan: SortMergeJoin, BroadcastHashJoin, Exchange
WITH route_stats AS (
  SELECT
    PULocationID,
    DOLocationID,
    count(*) AS route_trips,
    sum(CAST(round(fare_amount * 100) AS BIGINT)) AS route_fare_cents
  FROM trips
  GROUP BY PULocationID, DOLocationID
)
SELECT /*+ MERGE(r), BROADCAST(pz, dz) */
  t.tpep_pickup_datetime AS pickup_at,
  pz.Borough AS pickup_borough,
  pz.Zone AS pickup_zone,
  dz.Borough AS dropoff_borough,
  dz.Zone AS dropoff_zone,
  t.trip_distance,
  t.fare_amount,
  r.route_trips,
  r.route_fare_cents / r.route_trips / 100.0 AS route_mean_fare
FROM trips t
JOIN route_stats r ON t.PULocationID = r.PULocationID AND t.DOLocationID = r.DOLocationID
JOIN zones pz ON t.PULocationID = pz.LocationID
JOIN zones dz ON t.DOLocationID = dz.LocationID
WHERE CAST(round(t.fare_amount * 100) AS BIGINT) * r.route_trips > 2 * r.route_fare_cents
