pool "keep" {
  path = "/srv/keep"
}
moved {
  from = pool.scratch
  to   = pool.keep
}
