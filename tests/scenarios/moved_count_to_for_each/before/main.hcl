pool "p" {
  count = 2
  path  = "/srv/p${count.index}"
}
