pool "keep" {
  path = "/srv/keep"
}
removed {
  from = pool.scratch
  lifecycle {
    destroy = false
  }
}
