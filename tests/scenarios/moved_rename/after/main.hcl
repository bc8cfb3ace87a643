pool "images" {
  name = "old"
  path = "/srv/images"
}
moved {
  from = pool.old
  to   = pool.images
}
