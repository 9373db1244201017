#!/usr/bin/env bash
# A throwaway Ceph Object Gateway (RGW) for tests and benchmarks: one monitor, one OSD
# (BlueStore on a sparse file) and radosgw, from Debian's packages (ceph-mon ceph-osd
# radosgw), everything in DIR and on 127.0.0.1, no docker, no system service.
#
#   scripts/ceph-rgw.sh start DIR   create the cluster in DIR, start it, print the URL
#   scripts/ceph-rgw.sh stop DIR    stop the daemons (DIR stays; remove it yourself)
#   scripts/ceph-rgw.sh url DIR     print the URL of a started gateway
#
# The URL is http://ACCESS_KEY:SECRET_KEY@127.0.0.1:PORT, the S3 user's keys with the
# gateway's address: `IMADM_TEST_RGW=$(scripts/ceph-rgw.sh start DIR)` is what the e2e
# tests of S3 Object Lock read. The secret is random, kept in DIR/secret (0600).
#
# Why a real Ceph: s3s-fs (the tests' everyday S3 server) has no Object Lock and copies
# every part again at CompleteMultipartUpload; RGW, which Lanying's users run, enforces
# retention and completes a multipart upload by writing a manifest. The cluster is as
# small as Ceph allows: no authentication between the daemons (127.0.0.1 only), one
# replica, no manager (RGW does not need one).
set -euo pipefail

die() { echo "ceph-rgw: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 start|stop|url DIR"
cmd=$1
dir=$2

url() {
    echo "http://imadm-test:$(cat "$dir/secret")@127.0.0.1:$(cat "$dir/rgw-port")"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop() {
    local name pid
    for name in client.rgw.imadm osd.0 mon.a; do
        [ -f "$dir/run/$name.pid" ] || continue
        pid=$(cat "$dir/run/$name.pid")
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
}

case $cmd in
start)
    for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
        command -v "$b" >/dev/null || die "$b not found (Debian: apt-get install ceph-mon ceph-osd radosgw)"
    done
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -e "$dir/ceph.conf" ] || die "$dir already holds a cluster (stop it and remove $dir)"
    mkdir -p "$dir"/{mon,osd,run,log,rgw}
    mon_port=$(free_port)
    rgw_port=$(free_port)
    echo "$rgw_port" >"$dir/rgw-port"
    fsid=$(cat /proc/sys/kernel/random/uuid)
    conf=$dir/ceph.conf
    cat >"$conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port]
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# Ceph's own wire encryption needs keys: without authentication only crc is left.
ms_mon_client_mode = crc
ms_client_mode = crc
ms_cluster_mode = crc
ms_service_mode = crc
ms_mon_service_mode = crc
ms_mon_cluster_mode = crc
client_mount_timeout = 30
rados_mon_op_timeout = 30
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
run_dir = $dir/run
log_file = $dir/log/\$name.log
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
keyring = /dev/null
osd_memory_target = 1073741824
# Errors only, in the files and in memory: Ceph's default levels gather debug entries in
# memory for every request, a cost Ceph's own performance guidance turns off.
debug_rgw = 0/0
debug_ms = 0/0
debug_osd = 0/0
debug_bluestore = 0/0
debug_bluefs = 0/0
debug_bdev = 0/0
debug_rocksdb = 0/0
debug_objecter = 0/0
debug_rados = 0/0
debug_monc = 0/0
debug_auth = 0/0
debug_mon = 0/0
debug_paxos = 0/0
[mon.a]
mon_data = $dir/mon
public_addr = 127.0.0.1
[osd.0]
osd_data = $dir/osd
osd_objectstore = bluestore
bluestore_block_path = $dir/osd-block
bluestore_block_create = true
bluestore_block_size = 68719476736
[client.rgw.imadm]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_data = $dir/rgw
EOF
    log=$dir/start.log
    {
        monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap"
        ceph-mon -c "$conf" --id a --mkfs --monmap "$dir/monmap" --keyring /dev/null
        ceph-mon -c "$conf" --id a
        ceph -c "$conf" osd create
        ceph-osd -c "$conf" -i 0 --mkfs --no-mon-config
        ceph-osd -c "$conf" -i 0
    } >>"$log" 2>&1 || { cat "$log" >&2; die "the monitor or the OSD did not start (log: $log)"; }
    for _ in $(seq 120); do
        ceph -c "$conf" osd stat 2>/dev/null | grep -q '1 up' && break
        sleep 0.5
    done
    ceph -c "$conf" osd stat 2>/dev/null | grep -q '1 up' || { stop; die "the OSD is not up (logs in $dir/log)"; }
    radosgw -c "$conf" -n client.rgw.imadm --no-mon-config >>"$log" 2>&1 ||
        { stop; die "radosgw did not start (logs in $dir/log)"; }
    answers() { (exec 3<>"/dev/tcp/127.0.0.1/$rgw_port") 2>/dev/null; }
    for _ in $(seq 240); do answers && break; sleep 0.5; done
    answers || { stop; die "radosgw does not answer (logs in $dir/log)"; }
    (umask 077 && head -c 30 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$dir/secret")
    # (The secret on radosgw-admin's argv: it has no other way in; a throwaway test key.)
    radosgw-admin -c "$conf" user create --uid=imadm-test --display-name=imadm-test \
        --access-key=imadm-test --secret-key="$(cat "$dir/secret")" >>"$log" 2>&1 ||
        { stop; die "radosgw-admin user create failed (log: $log)"; }
    url
    ;;
stop)
    [ -f "$dir/ceph.conf" ] || die "no cluster in $dir"
    stop
    ;;
url)
    url
    ;;
*)
    die "usage: $0 start|stop|url DIR"
    ;;
esac
