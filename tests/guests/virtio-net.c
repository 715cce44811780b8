/* A minimal virtio-pci (modern) network driver: find the 1af4:1041
 * function on bus 0, negotiate VERSION_1 (+ MAC, STATUS), read the MAC
 * and link status from the device config, post receive buffers on queue
 * 0, send on queue 1; both queues' MSI-X vectors wake the guest from hlt.
 *
 * Two personalities, by the boot command line:
 *
 *  - default ("tap"): IPv4 host 10.99.0.2/24.  It answers ARP requests
 *    for its address, ICMP echo requests (so the host can ping it), UDP
 *    datagrams to port 7 (echoed), and
 *    frames of ethertype 0x88b5 whose payload starts with "ECHO": the
 *    answer goes back to the sender with "OHCE", the same sequence number
 *    and every following byte inverted, so the host checks both
 *    directions' contents.  A 0x88b5 frame "QUIT" ends the guest (status
 *    0) after printing its counters.
 *
 *    With "mq" it negotiates VIRTIO_NET_F_MQ with the control queue,
 *    enables every queue pair (VQ_PAIRS_SET, up to 3), receives on all
 *    of them and answers on the pair a frame came on; it prints how many
 *    frames each pair received.
 *
 *  - "user": behind the user-mode NAT (slirp).  It broadcasts a DHCP
 *    DISCOVER and waits for the OFFER, then ARPs for the gateway and
 *    waits for its reply.  With "nat" it sends a UDP datagram to the
 *    gateway's port 7777 (the host's loopback, through slirp) and waits
 *    for the server's answer.  With "hostfwd" also on the command line it
 *    then waits for a forwarded TCP connection's SYN, answers it with a
 *    reset and ends.
 */
#include "virtio.h"

#define VIRTIO_NET_ID		0x1041
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_MQ		22
#define MAX_PAIRS		3
#define VEC_QUEUE		0x42
#define QSIZE			32
#define BUF_SIZE		2048
#define HDR_LEN			12	/* struct virtio_net_hdr_v1 */

#define ETH_P_IP		0x0800
#define ETH_P_ARP		0x0806
#define ETH_P_MICA		0x88b5	/* IEEE local experimental */

static struct vqueue rxq[MAX_PAIRS], txq[MAX_PAIRS], ctrlq;
static uint8_t rxbuf[MAX_PAIRS][QSIZE][BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t txbuf[MAX_PAIRS][QSIZE][BUF_SIZE] __attribute__((aligned(4096)));
static uint16_t tx_next[MAX_PAIRS];
static unsigned pairs = 1, cur_pair;	/* answers go out on the pair asked on */
static uint32_t pair_rx[MAX_PAIRS], udp_echoes;
static struct vdev nic = { .name = "virtio-net" };
static uint8_t my_mac[6];
static uint8_t my_ip[4] = { 10, 99, 0, 2 };
static uint32_t rx_frames, tx_frames, echoes, pings, arps;

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void copy(void *dst, const void *src, unsigned n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
}

static int same(const void *a, const void *b, unsigned n)
{
	const uint8_t *x = a, *y = b;

	while (n--)
		if (*x++ != *y++)
			return 0;
	return 1;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Internet checksum over len bytes, starting from sum. */
static uint16_t csum(const uint8_t *p, unsigned len, uint32_t sum)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put_mac(const uint8_t *m)
{
	for (int i = 0; i < 6; i++) {
		put_hex(m[i], 2);
		if (i < 5)
			putc(':');
	}
}

static void put_ip(const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		put_dec(a[i]);
		if (i < 3)
			putc('.');
	}
}

/* ---- queues ------------------------------------------------------------- */

static void rx_post(unsigned p, uint16_t i)
{
	rxq[p].desc[i] = (struct vdesc){ (uintptr_t)rxbuf[p][i], BUF_SIZE, VRING_DESC_F_WRITE, 0 };
	vq_push(&rxq[p], i);
}

/* A frame buffer to fill (after the header) for tx_send; waits while
 * every transmit buffer is still with the device. */
static uint8_t *tx_frame(void)
{
	struct vqueue *q = &txq[cur_pair];
	uint8_t *buf = txbuf[cur_pair][tx_next[cur_pair]];

	while ((uint16_t)(q->avail.idx - q->used.idx) >= QSIZE)
		__asm__ volatile("sti; hlt; cli");
	for (unsigned i = 0; i < HDR_LEN; i++)
		buf[i] = 0;
	return buf + HDR_LEN;
}

static void tx_send(unsigned len)
{
	uint16_t i = tx_next[cur_pair];

	if (len < 60)
		len = 60;		/* the minimum Ethernet frame */
	txq[cur_pair].desc[i] = (struct vdesc){ (uintptr_t)txbuf[cur_pair][i], HDR_LEN + len,
						0, 0 };
	vq_push(&txq[cur_pair], i);
	tx_next[cur_pair] = (uint16_t)((i + 1) % QSIZE);
	tx_frames++;
}

static uint8_t *eth_reply(const uint8_t *dst, uint16_t type)
{
	uint8_t *f = tx_frame();

	copy(f, dst, 6);
	copy(f + 6, my_mac, 6);
	put16(f + 12, type);
	return f;
}

/* ---- protocols ---------------------------------------------------------- */

static void arp_send(uint16_t op, const uint8_t *to_mac, const uint8_t *target_mac,
		     const uint8_t *target_ip)
{
	uint8_t *f = eth_reply(to_mac, ETH_P_ARP), *a = f + 14;

	put16(a, 1);			/* Ethernet */
	put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	copy(a + 8, my_mac, 6);
	copy(a + 14, my_ip, 4);
	copy(a + 18, target_mac, 6);
	copy(a + 24, target_ip, 4);
	tx_send(14 + 28);
}

/* Returns 1 for an ARP reply (to our request). */
static int on_arp(const uint8_t *f, unsigned len, uint8_t *sender_mac)
{
	const uint8_t *a = f + 14;

	if (len < 14 + 28 || get16(a) != 1 || get16(a + 2) != ETH_P_IP)
		return 0;
	if (get16(a + 6) == 1 && same(a + 24, my_ip, 4)) {
		arps++;
		arp_send(2, a + 8, a + 8, a + 14);
		return 0;
	}
	if (get16(a + 6) == 2 && same(a + 24, my_ip, 4)) {
		copy(sender_mac, a + 8, 6);
		return 1;
	}
	return 0;
}

/* The IPv4 header at ip (20 bytes, no options) with a fresh checksum. */
static void ip_header(uint8_t *ip, unsigned total, uint8_t proto,
		      const uint8_t *src, const uint8_t *dst)
{
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 4, 0);
	put16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = proto;
	put16(ip + 10, 0);
	copy(ip + 12, src, 4);
	copy(ip + 16, dst, 4);
	put16(ip + 10, csum(ip, 20, 0));
}

static void on_icmp(const uint8_t *f, unsigned len)
{
	const uint8_t *ip = f + 14, *icmp = ip + 20;
	unsigned total = get16(ip + 2), ilen = total - 20;
	uint8_t *o, *oi;

	if (total < 28 || 14 + total > len || icmp[0] != 8)
		return;
	if (csum(icmp, ilen, 0) != 0)
		return;				/* a bad request is not answered */
	o = eth_reply(f + 6, ETH_P_IP);
	oi = o + 14 + 20;
	copy(oi, icmp, ilen);
	oi[0] = 0;				/* echo reply */
	put16(oi + 2, 0);
	put16(oi + 2, csum(oi, ilen, 0));
	ip_header(o + 14, total, 1, my_ip, ip + 12);
	tx_send(14 + total);
	pings++;
}

/* A forwarded connection's SYN: answered with RST|ACK.  Returns the port. */
static unsigned on_tcp(const uint8_t *f, unsigned len)
{
	const uint8_t *ip = f + 14, *tcp = ip + 20;
	unsigned total = get16(ip + 2), port;
	uint8_t *o, *ot;
	uint32_t seq, sum = 0;

	if (total < 40 || 14 + total > len || !(tcp[13] & 0x02) || (tcp[13] & 0x10))
		return 0;				/* not a SYN */
	port = get16(tcp + 2);
	seq = (uint32_t)tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7];
	seq++;
	o = eth_reply(f + 6, ETH_P_IP);
	ot = o + 14 + 20;
	for (unsigned i = 0; i < 20; i++)
		ot[i] = 0;
	copy(ot, tcp + 2, 2);				/* our port */
	copy(ot + 2, tcp, 2);
	ot[8] = (uint8_t)(seq >> 24);
	ot[9] = (uint8_t)(seq >> 16);
	ot[10] = (uint8_t)(seq >> 8);
	ot[11] = (uint8_t)seq;
	ot[12] = 5 << 4;
	ot[13] = 0x14;					/* RST, ACK */
	for (int i = 0; i < 4; i += 2)			/* pseudo header */
		sum += get16(ip + 16 + i) + get16(ip + 12 + i);
	sum += 6 + 20;
	put16(ot + 16, csum(ot, 20, sum));
	ip_header(o + 14, 40, 6, ip + 16, ip + 12);
	tx_send(14 + 40);
	return port;
}

/* UDP echo (port 7), answered on the pair it came on: the host checks
 * the answers of many flows, which a multiqueue TAP spreads over pairs. */
static void on_udp(const uint8_t *f, unsigned len)
{
	const uint8_t *ip = f + 14, *udp = ip + 20;
	unsigned total = get16(ip + 2);
	uint8_t *o;

	if (total < 28 || 14 + total > len || get16(udp + 2) != 7)
		return;
	o = eth_reply(f + 6, ETH_P_IP);
	copy(o + 14 + 20, udp + 2, 2);
	copy(o + 14 + 22, udp, 2);
	copy(o + 14 + 24, udp + 4, 2);
	put16(o + 14 + 26, 0);				/* no checksum */
	copy(o + 14 + 28, udp + 8, total - 28);
	ip_header(o + 14, total, 17, my_ip, ip + 12);
	tx_send(14 + total);
	udp_echoes++;
}

/* "ECHO" seq data... -> "OHCE" seq ~data...; 1 for "QUIT". */
static int on_mica(const uint8_t *f, unsigned len)
{
	const uint8_t *p = f + 14;
	unsigned n = len - 14;
	uint8_t *o;

	if (n >= 4 && same(p, "QUIT", 4))
		return 1;
	if (n < 8 || !same(p, "ECHO", 4))
		return 0;
	o = eth_reply(f + 6, ETH_P_MICA);
	copy(o + 14, "OHCE", 4);
	copy(o + 18, p + 4, 4);
	for (unsigned i = 8; i < n; i++)
		o[14 + i] = (uint8_t)~p[i];
	tx_send(len);
	echoes++;
	return 0;
}

/* ---- the loop ----------------------------------------------------------- */

enum want { WANT_QUIT, WANT_OFFER, WANT_ARP_REPLY, WANT_SYN, WANT_NAT_REPLY };

/* The NAT test: a datagram from NAT_SRC_PORT to the gateway's NAT_PORT
 * (slirp hands it to the host's loopback), the server's answer back. */
#define NAT_PORT	7777
#define NAT_SRC_PORT	5555
static const char nat_ping[] = "MICA-NAT ping 0123456789abcdefghijklmnopqrstuvwxyz";
static const char nat_pong[] = "MICA-NAT pong 0123456789abcdefghijklmnopqrstuvwxyz";

struct seen {
	uint8_t offer_ip[4], server_ip[4], gw_mac[6];
	unsigned port;
};

static int is_dhcp_offer(const uint8_t *f, unsigned len, struct seen *s)
{
	const uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;

	if (len < 14 + 20 + 8 + 240 || ip[9] != 17 || get16(udp) != 67 || get16(udp + 2) != 68)
		return 0;
	if (b[0] != 2 || !same(b + 4, "MICA", 4) || !same(b + 28, my_mac, 6))
		return 0;
	for (unsigned o = 240; 14 + 28 + o + 2 < len && b[o] != 255; o += b[o] == 0 ? 1 : 2u + b[o + 1])
		if (b[o] == 53 && b[o + 2] == 2) {
			copy(s->offer_ip, b + 16, 4);
			copy(s->server_ip, ip + 12, 4);
			return 1;
		}
	return 0;
}

/* The server's answer through the NAT: from the gateway's NAT_PORT to
 * our NAT_SRC_PORT, exactly nat_pong. */
static int is_nat_reply(const uint8_t *f, unsigned len)
{
	const uint8_t *ip = f + 14, *udp = ip + 20;
	unsigned total = get16(ip + 2), n = sizeof(nat_pong) - 1;

	return total >= 28 + n && 14 + total <= len && get16(udp) == NAT_PORT &&
	       get16(udp + 2) == NAT_SRC_PORT && get16(udp + 4) == 8 + n &&
	       same(udp + 8, nat_pong, n);
}

static void nat_send(const uint8_t *gw_ip, const uint8_t *gw_mac)
{
	uint8_t *f = eth_reply(gw_mac, ETH_P_IP), *udp = f + 14 + 20;
	unsigned n = sizeof(nat_ping) - 1;

	put16(udp, NAT_SRC_PORT);
	put16(udp + 2, NAT_PORT);
	put16(udp + 4, (uint16_t)(8 + n));
	put16(udp + 6, 0);
	copy(udp + 8, nat_ping, n);
	ip_header(f + 14, 20 + 8 + n, 17, my_ip, gw_ip);
	tx_send(14 + 20 + 8 + n);
}

/* One received frame; returns 1 when it is what we wait for, -1 when
 * what we wait for cannot come. */
static int on_frame(const uint8_t *f, unsigned len, enum want want, struct seen *s)
{
	uint16_t type;

	if (len < 14)
		return 0;
	if (!same(f, my_mac, 6) && !same(f, broadcast, 6))
		return 0;
	type = get16(f + 12);
	if (type == ETH_P_ARP)
		return on_arp(f, len, s->gw_mac) && want == WANT_ARP_REPLY;
	if (type == ETH_P_MICA)
		return on_mica(f, len) && want == WANT_QUIT;
	if (type != ETH_P_IP || len < 34 || (f[14] & 0xf0) != 0x40 || (f[14] & 0x0f) != 5)
		return 0;
	if (want == WANT_OFFER)
		return is_dhcp_offer(f, len, s);
	if (!same(f + 14 + 16, my_ip, 4))
		return 0;
	if (f[14 + 9] == 1 && want == WANT_NAT_REPLY && len >= 14 + 20 + 8 && f[34] == 3) {
		puts("virtio-net: ICMP destination unreachable (code "); put_dec(f[35]);
		puts(") from "); put_ip(f + 14 + 12); puts(" for the datagram to the NAT\n");
		return -1;			/* nothing listens there: no answer comes */
	}
	if (f[14 + 9] == 1)
		on_icmp(f, len);
	else if (f[14 + 9] == 17)
		on_udp(f, len);
	else if (f[14 + 9] == 6 && want == WANT_SYN)
		return (s->port = on_tcp(f, len)) != 0;
	if (f[14 + 9] == 17 && want == WANT_NAT_REPLY)
		return is_nat_reply(f, len);
	return 0;
}

/* Handle frames until one is what we want. */
static int wait_for(enum want want, struct seen *s)
{
	for (;;) {
		unsigned busy = 0;

		for (unsigned p = 0; p < pairs; p++) {
			struct vqueue *q = &rxq[p];
			uint16_t i;
			uint32_t len;
			int done;

			if (q->last_used == q->used.idx)
				continue;
			busy = 1;
			i = (uint16_t)q->used.ring[q->last_used % QSIZE].id;
			len = q->used.ring[q->last_used % QSIZE].len;
			q->last_used++;
			if (i >= QSIZE || len < HDR_LEN || len > BUF_SIZE)
				return vdev_fail(&nic, "bad used entry on a receive queue");
			rx_frames++;
			pair_rx[p]++;
			cur_pair = p;
			done = on_frame(rxbuf[p][i] + HDR_LEN, len - HDR_LEN, want, s);
			rx_post(p, i);
			if (done < 0)
				return vdev_fail(&nic, "the NAT's server was not reachable");
			if (done)
				return 0;
		}
		if (!busy)
			__asm__ volatile("sti; hlt; cli");
	}
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET n on the control queue; the ack. */
static int set_pairs(unsigned n)
{
	static uint8_t cmd[2] = { 4, 0 }, ack;
	static uint16_t arg;

	arg = (uint16_t)n;
	ack = 0xff;
	ctrlq.desc[0] = (struct vdesc){ (uintptr_t)cmd, 2, VRING_DESC_F_NEXT, 1 };
	ctrlq.desc[1] = (struct vdesc){ (uintptr_t)&arg, 2, VRING_DESC_F_NEXT, 2 };
	ctrlq.desc[2] = (struct vdesc){ (uintptr_t)&ack, 1, VRING_DESC_F_WRITE, 0 };
	vq_push(&ctrlq, 0);
	while (ctrlq.used.idx == 0)
		__asm__ volatile("sti; hlt; cli");
	return ack == 0 ? 0 : vdev_fail(&nic, "VQ_PAIRS_SET not acknowledged");
}

static void dhcp_discover(void)
{
	static const uint8_t zero[4], all[4] = { 255, 255, 255, 255 };
	uint8_t *f = eth_reply(broadcast, ETH_P_IP), *udp = f + 14 + 20, *b = udp + 8;
	unsigned blen = 240 + 4;

	for (unsigned i = 0; i < blen; i++)
		b[i] = 0;
	b[0] = 1;			/* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	copy(b + 4, "MICA", 4);		/* xid */
	put16(b + 10, 0x8000);		/* broadcast reply */
	copy(b + 28, my_mac, 6);
	copy(b + 236, "\x63\x82\x53\x63", 4);
	copy(b + 240, "\x35\x01\x01\xff", 4);	/* DISCOVER, end */
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)(8 + blen));
	put16(udp + 6, 0);		/* no UDP checksum */
	ip_header(f + 14, 20 + 8 + blen, 17, zero, all);
	tx_send(14 + 20 + 8 + blen);
}

static int user_mode(const void *boot_params)
{
	static const uint8_t none[6];
	struct seen s = { .port = 0 };

	dhcp_discover();
	puts("virtio-net: DHCP DISCOVER sent\n");
	if (wait_for(WANT_OFFER, &s))
		return 1;
	puts("virtio-net: DHCP OFFER of "); put_ip(s.offer_ip); puts(" from ");
	put_ip(s.server_ip); putc('\n');
	copy(my_ip, s.offer_ip, 4);
	arp_send(1, broadcast, none, s.server_ip);
	if (wait_for(WANT_ARP_REPLY, &s))
		return 1;
	puts("virtio-net: ARP reply: "); put_ip(s.server_ip); puts(" is at ");
	put_mac(s.gw_mac); putc('\n');
	if (cmdline_has(boot_params, "nat")) {
		nat_send(s.server_ip, s.gw_mac);
		if (wait_for(WANT_NAT_REPLY, &s))
			return 1;
		puts("virtio-net: UDP through the NAT to "); put_ip(s.server_ip);
		puts(":7777 answered by the host's server\n");
	}
	if (cmdline_has(boot_params, "hostfwd")) {
		puts("virtio-net: waiting for a forwarded connection\n");
		if (wait_for(WANT_SYN, &s))
			return 1;
		puts("virtio-net: forwarded TCP SYN for port "); put_dec(s.port);
		puts(", answered with a reset\n");
	}
	return 0;
}

int guest_main(const void *boot_params)
{
	uint32_t features = 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS |
			    1u << VIRTIO_NET_F_MTU;
	int mq = cmdline_has(boot_params, "mq");
	struct seen s = { .port = 0 };
	uint16_t status;

	uart_init();
	vdev_interrupts_init(VEC_QUEUE);
	if (mq)
		features |= 1u << VIRTIO_NET_F_MQ | 1u << VIRTIO_NET_F_CTRL_VQ;
	if (vdev_find(&nic, VIRTIO_NET_ID) || vdev_msix(&nic, 2 * MAX_PAIRS + 1, VEC_QUEUE) ||
	    vdev_negotiate(&nic, &features))
		return 1;
	if (mq) {
		if (!(features & (1u << VIRTIO_NET_F_MQ)) ||
		    !(features & (1u << VIRTIO_NET_F_CTRL_VQ)))
			return vdev_fail(&nic, "no VIRTIO_NET_F_MQ with a control queue");
		pairs = rd16(nic.device + 8);
		if (pairs > MAX_PAIRS)
			pairs = MAX_PAIRS;
		if (pairs < 2)
			return vdev_fail(&nic, "max_virtqueue_pairs below 2");
	}
	if (!(features & (1u << VIRTIO_NET_F_MAC)))
		return vdev_fail(&nic, "no VIRTIO_NET_F_MAC");
	for (int i = 0; i < 6; i++)
		my_mac[i] = rd8(nic.device + i);
	status = rd16(nic.device + 6);
	puts("virtio-net: mac "); put_mac(my_mac);
	puts((features & (1u << VIRTIO_NET_F_STATUS)) && (status & 1) ? ", link up\n"
								      : ", link down\n");
	if (features & (1u << VIRTIO_NET_F_MTU)) {
		puts("virtio-net: mtu "); put_dec(rd16(nic.device + 10)); putc('\n');
	}
	for (unsigned p = 0; p < pairs; p++)
		if (vdev_queue(&nic, 2 * p, &rxq[p], QSIZE, (uint16_t)(1 + 2 * p)) ||
		    vdev_queue(&nic, 2 * p + 1, &txq[p], QSIZE, (uint16_t)(2 + 2 * p)))
			return 1;
	if (mq && vdev_queue(&nic, rd16(nic.device + 8) * 2u, &ctrlq, 4,
			     (uint16_t)(1 + 2 * pairs)))
		return 1;
	if (vdev_driver_ok(&nic) || (mq && set_pairs(pairs)))
		return 1;
	if (mq) {
		puts("virtio-net: "); put_dec(pairs); puts(" queue pairs\n");
	}
	for (unsigned p = 0; p < pairs; p++)
		for (uint16_t i = 0; i < QSIZE; i++)
			rx_post(p, i);
	if (cmdline_has(boot_params, "user")) {
		if (user_mode(boot_params))
			return 1;
	} else {
		puts("virtio-net: 10.99.0.2 ready\n");
		if (wait_for(WANT_QUIT, &s))
			return 1;
		puts("virtio-net: "); put_dec(echoes); puts(" echoes, "); put_dec(pings);
		puts(" pings, "); put_dec(udp_echoes); puts(" UDP echoes, "); put_dec(arps);
		puts(" ARP replies\n");
		puts("virtio-net: frames per pair:");
		for (unsigned p = 0; p < pairs; p++) {
			putc(' '); put_dec(pair_rx[p]);
		}
		putc('\n');
	}
	puts("virtio-net: "); put_dec(rx_frames); puts(" frames received, ");
	put_dec(tx_frames); puts(" sent, "); put_dec(vdev_irqs); puts(" MSI-X interrupts\n");
	if (vdev_unexpected)
		return vdev_fail(&nic, "unexpected interrupts");
	wr8(nic.common + CC_STATUS, 0);		/* reset: the back-end stops */
	puts("virtio-net: ok\n");
	return 0;
}
