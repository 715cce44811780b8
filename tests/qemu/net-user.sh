#!/bin/bash
# QEMU (TCG) as the front-end of `mica-net --user` (user-mode NAT, slirp),
# in a network namespace of its own:
#  - the guest gets its address from slirp's DHCP (10.0.2.15, router 10.0.2.2);
#  - it pings the gateway;
#  - DNS at 10.0.2.3 reaches a server on the namespace's 127.0.0.1:53;
#  - a TCP stream both ways with a server on the namespace's loopback,
#    reached through the NAT at 10.0.2.2, MD5 checked on both sides;
#  - a host port forward (--hostfwd tcp::PORT-:PORT) reaches a server in
#    the guest;
#  - kill -9 mica-net during a stream, restart: QEMU reconnects, the lease
#    is renewed, NAT and forward work again.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
source "$(dirname "$0")/net-lib.sh"
T_SUITE=qemu-net-user
netq_setup user || { finish; exit; }

netq_start --user --hostfwd tcp::5555-:7777 || { netq_finish; exit; }
if netq_dhcp; then
	pass "DHCP from slirp: $GUEST_IP router $GUEST_ROUTER"
	check "slirp's lease is 10.0.2.15 via 10.0.2.2" test "$GUEST_IP/$GUEST_ROUTER" = "10.0.2.15/10.0.2.2"
else
	bad "DHCP from slirp"
	netq_finish; exit
fi
if gsh 60 "ping -c 2 -W 5 10.0.2.2 >/dev/null"; then pass "the guest pings the gateway"; else bad "ping 10.0.2.2"; fi
# DNS at 10.0.2.3 (the nameserver slirp's DHCP named): mica-net's sandbox
# hides /etc/resolv.conf, so it goes to the namespace's 127.0.0.1:53, where
# a one-name server answers A queries for mica.dns.test. with 192.0.2.53.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").write("bound\n")
while True:
    q, a = s.recvfrom(512)
    end = 12
    while end < len(q) and q[end]: end += 1 + q[end]
    qtype = q[end + 1:end + 3]
    ans = q[12:end + 5] == b"\x04mica\x03dns\x04test\x00\x00\x01\x00\x01"
    r = q[:2] + b"\x81\x80\x00\x01" + (b"\x00\x01" if ans else b"\x00\x00") + b"\x00\x00\x00\x00" + q[12:end + 5]
    if ans: r += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 53])
    s.sendto(r, a)' "$T/dnsready" 2>"$T/dns.log" &
dnsd=$!
wait_for 20 test -s "$T/dnsready"
if gsh 60 "nslookup mica.dns.test 10.0.2.3 2>&1" | grep -q '192\.0\.2\.53'; then
	pass "DNS at 10.0.2.3 reaches the namespace's 127.0.0.1:53 (mica-net sandboxed) and answers"
else
	bad "DNS at 10.0.2.3"
	sed 's/^/  | /' "$T/dns.log" | tail -5
fi
kill "$dnsd" 2>/dev/null; wait "$dnsd" 2>/dev/null
if netq_guest_sends 10.0.2.2 6001 1024; then
	pass "guest -> namespace loopback through the NAT: 1 MiB, MD5 equal"
else
	bad "guest -> namespace loopback through the NAT"
fi
if netq_guest_receives 10.0.2.2 6002 1024; then
	pass "namespace loopback -> guest through the NAT: 1 MiB, MD5 equal"
else
	bad "namespace loopback -> guest through the NAT"
fi
if netq_guest_serves 7777 512 127.0.0.1:5555; then
	pass "hostfwd tcp::5555-:7777 reaches a server in the guest: 512 KiB, MD5 equal"
else
	bad "hostfwd tcp::5555-:7777"
fi

# kill -9 during a stream from the guest: slirp's connections die with
# it; restarted, QEMU reconnects, the lease is renewed from the new slirp
# and new connections work both ways, the forward too.
timeout 120 busybox nc -l -p 6003 <>"$T/hold" >"$T/stream" 2>/dev/null &
netq_listening 6003
gsh 10 "(timeout 120 nc 10.0.2.2 6003 </dev/zero >/dev/null 2>&1 &)" >/dev/null
streaming() { [ "$(stat -c %s "$T/stream")" -gt 200000 ]; }
if wait_for 30 streaming; then pass "a stream from the guest is under way"; else bad "a stream from the guest"; fi
netq_net_kill
gsh 10 "killall nc" >/dev/null
if netq_net_start --user --hostfwd tcp::5555-:7777 && netq_reconnected 2; then
	pass "mica-net killed and restarted: QEMU reconnects, link up"
else
	bad "mica-net restarted: QEMU reconnects"
fi
if netq_dhcp && [ "$GUEST_IP" = 10.0.2.15 ]; then pass "the lease again from the new slirp"; else bad "DHCP after the restart"; fi
if netq_guest_sends 10.0.2.2 6004 512 && netq_guest_receives 10.0.2.2 6005 512 &&
   netq_guest_serves 7777 256 127.0.0.1:5555; then
	pass "after the restart: NAT both ways and the forward, MD5 equal"
else
	bad "after the restart: NAT and forward"
fi
netq_finish
