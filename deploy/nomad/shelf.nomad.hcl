# Shelf on Nomad (Docker driver): `nomad job run -var image=ghcr.io/example/shelf:0.1.0 shelf.nomad.hcl`.
# SECRET_KEY, DATABASE_URL and REDIS_URL come from Nomad Variables at nomad/jobs/shelf:
#   nomad var put nomad/jobs/shelf SECRET_KEY=... DATABASE_URL=... REDIS_URL=...

variable "image" {
  type        = string
  description = "The Shelf image, with its tag."
  default     = "ghcr.io/example/shelf:0.1.0"
}

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "api_count" {
  type    = number
  default = 2
}

variable "worker_count" {
  type    = number
  default = 2
}

job "shelf" {
  datacenters = var.datacenters
  type        = "service"

  # One group at a time, and only after the new allocations pass their checks;
  # a deployment that never gets healthy is rolled back.
  update {
    max_parallel      = 1
    min_healthy_time  = "10s"
    healthy_deadline  = "2m"
    progress_deadline = "5m"
    health_check      = "checks"
    auto_revert       = true
    canary            = 0
  }

  group "api" {
    count = var.api_count

    spread {
      attribute = "${node.unique.id}"
    }

    network {
      port "http" {
        to = 8080
      }
    }

    service {
      name     = "shelf-api"
      port     = "http"
      provider = "nomad"

      check {
        name     = "alive"
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }

      # Fails only while draining or saturated (or for a dependency in READINESS_REQUIRES);
      # answers within READINESS_TIMEOUT (2 s), inside the check's timeout.
      check {
        name     = "ready"
        type     = "http"
        path     = "/readiness"
        interval = "5s"
        timeout  = "3s"
      }
    }

    # Migrations run once per allocation start, before the server, and must succeed.
    task "migrate" {
      driver = "docker"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        image   = var.image
        command = "shelf"
        args    = ["db", "upgrade"]
      }

      template {
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/shelf" }}
        SECRET_KEY={{ .SECRET_KEY }}
        DATABASE_URL={{ .DATABASE_URL }}
        {{ end }}
        EOT
        destination = "secrets/shelf.env"
        env         = true
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }

    task "api" {
      driver = "docker"

      # preStop-like pause: the service is deregistered, then SIGTERM arrives after this.
      shutdown_delay = "5s"
      kill_timeout   = "40s"

      config {
        image   = var.image
        command = "shelf"
        args    = ["serve"]
        ports   = ["http"]
      }

      env {
        APP_ENV         = "production"
        HOST            = "0.0.0.0"
        PORT            = "8080"
        WEB_CONCURRENCY = "2"
        TRUSTED_PROXIES = "1"
      }

      template {
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/shelf" }}
        SECRET_KEY={{ .SECRET_KEY }}
        DATABASE_URL={{ .DATABASE_URL }}
        REDIS_URL={{ .REDIS_URL }}
        {{ end }}
        EOT
        destination = "secrets/shelf.env"
        env         = true
      }

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }

  group "worker" {
    count = var.worker_count

    spread {
      attribute = "${node.unique.id}"
    }

    task "worker" {
      driver       = "docker"
      kill_timeout = "60s"

      config {
        image   = var.image
        command = "shelf"
        args    = ["worker"]
      }

      env {
        APP_ENV = "production"
      }

      template {
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/shelf" }}
        SECRET_KEY={{ .SECRET_KEY }}
        DATABASE_URL={{ .DATABASE_URL }}
        REDIS_URL={{ .REDIS_URL }}
        {{ end }}
        EOT
        destination = "secrets/shelf.env"
        env         = true
      }

      resources {
        cpu    = 300
        memory = 384
      }
    }
  }
}
