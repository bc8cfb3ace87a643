locals {
  pools = { a = 0, b = 1 }
}
pool "p" {
  for_each = local.pools
  name     = "p-${each.value}"
  path     = "/srv/p${each.value}"
}
moved {
  from = pool.p[0]
  to   = pool.p["a"]
}
moved {
  from = pool.p[1]
  to   = pool.p["b"]
}
