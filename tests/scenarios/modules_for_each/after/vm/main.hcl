variable "name" {
  type = string
}

variable "pool" {}

variable "size" {
  type    = string
  default = "512MiB"
  validation {
    condition     = endswith(var.size, "iB")
    error_message = "size is a size such as 1GiB."
  }
}

locals {
  disk = "${var.name}-root"
}

volume "root" {
  name     = local.disk
  pool     = var.pool
  capacity = var.size
}

domain "this" {
  name   = var.name
  memory = "256MiB"
  disk {
    volume = volume.root
  }
}

output "root" {
  value = volume.root
}
