-- aggregate: trips grouped by route (pickup zone, drop-off zone). Every map task holds thousands
-- of routes, so the partial aggregates go through a real hash-partitioned shuffle before the final
-- aggregation. Bounded: one row per route that occurs, at most 265 x 265 = 70,225 rows at any size.
-- plan: HashAggregate, Exchange
SELECT
  PULocationID AS pickup_zone,
  DOLocationID AS dropoff_zone,
  count(*) AS trips,
  sum(passenger_count) AS passengers,
  avg(trip_distance) AS avg_distance_mi,
  avg(timestampdiff(SECOND, tpep_pickup_datetime, tpep_dropoff_datetime)) AS avg_duration_s,
  sum(fare_amount) AS fare_usd,
  sum(tip_amount) AS tip_usd,
  sum(total_amount) AS total_usd,
  max(total_amount) AS max_total_usd
FROM trips
GROUP BY PULocationID, DOLocationID
