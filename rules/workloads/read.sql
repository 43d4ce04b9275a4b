-- read: a full scan of every trip file with filters and projections, and no shuffle.
-- Filters: card-paid trips (payment_type = 1) of two miles or more with a positive fare and at
-- least two passengers (null passenger counts drop out). Projections: nine of the nineteen
-- columns plus two computed ones. Bounded: a filter over trips, so never more rows than trips
-- (about 10% of them on the generated data).
-- plan: Filter
SELECT
  VendorID AS vendor_id,
  tpep_pickup_datetime AS pickup_at,
  PULocationID AS pickup_zone,
  DOLocationID AS dropoff_zone,
  passenger_count,
  trip_distance,
  fare_amount,
  tip_amount,
  total_amount,
  timestampdiff(SECOND, tpep_pickup_datetime, tpep_dropoff_datetime) AS duration_s,
  tip_amount / fare_amount AS tip_share
FROM trips
WHERE payment_type = 1
  AND trip_distance >= 2.0
  AND fare_amount > 0
  AND passenger_count >= 2
