pool "p" {
  path = "/var/lib/kvmstate/images"
}
cloudinit "seed" {
  pool               = "p"
  user_data_template = "ud.j2"
  template_vars = {
    name = "web"
    keys = ["ssh-ed25519 AAA"]
  }
}
volume "base" {
  pool   = "p"
  source   = "https://images.example.test/base.qcow2"
  checksum = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
}
volume "root" {
  pool          = "p"
  backing_store = "base"
  capacity      = "2GiB"
}
domain "web" {
  type      = "qemu"
  cloudinit = "seed"
  disk {
    volume = "root"
  }
}
