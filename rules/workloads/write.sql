-- write: daily totals per pickup zone, which the driver writes to PostgreSQL over JDBC (into a
-- table it creates from this result's schema, in batches) and then counts back.
-- Column names are lower case so PostgreSQL needs no quoting to read them. Bounded: one row
-- per (day, pickup zone) that has trips, at most 365 x 265 = 96,725 rows at any size.
SELECT
  CAST(tpep_pickup_datetime AS DATE) AS pickup_date,
  PULocationID AS pickup_zone,
  count(*) AS trips,
  sum(passenger_count) AS passengers,
  sum(trip_distance) AS distance_mi,
  sum(fare_amount) AS fare_usd,
  sum(tip_amount) AS tip_usd,
  sum(total_amount) AS total_usd
FROM trips
GROUP BY CAST(tpep_pickup_datetime AS DATE), PULocationID
