#include <string.h>
#include <arpa/inet.h>

#include "frames.h"

const uint8_t frames_guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t frames_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

size_t frame_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

size_t frame_test(uint8_t *f, size_t len, const uint8_t src[6], uint32_t seq)
{
	frame_eth(f, frames_bcast, src, ETH_TEST_TYPE);
	put32(f + 14, seq);
	for (size_t i = 18; i < len; i++)
		f[i] = (uint8_t)(i * 13 + seq);
	return len;
}

uint32_t frame_test_seq(const uint8_t *f)
{
	return (uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 | (uint32_t)f[16] << 8 | f[17];
}

uint16_t ip_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t frame_udp(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		 uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload,
		 size_t plen)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	frame_eth(f, dst, src, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + plen);
	put16(ip + 4, 1);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, 8 + plen);
	put16(udp + 6, 0);
	memcpy(udp + 8, payload, plen);
	return 14 + 20 + 8 + plen;
}

size_t frame_arp_request(uint8_t *f, const uint8_t mac[6], uint32_t ip, uint32_t target_ip)
{
	uint8_t *a = f + 14;

	frame_eth(f, frames_bcast, mac, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, mac, 6);
	put32(a + 14, ip);
	memset(a + 18, 0, 6);
	put32(a + 24, target_ip);
	return 14 + 28;
}

size_t frame_dhcp_discover(uint8_t *f, const uint8_t mac[6], uint32_t xid)
{
	uint8_t bootp[300];
	uint8_t *o = bootp + 236;

	memset(bootp, 0, sizeof(bootp));
	bootp[0] = 1;                 /* BOOTREQUEST */
	bootp[1] = 1;                 /* Ethernet */
	bootp[2] = 6;
	put32(bootp + 4, xid);
	memcpy(bootp + 28, mac, 6);
	put32(o, 0x63825363);         /* magic cookie */
	o += 4;
	*o++ = 53; *o++ = 1; *o++ = 1;  /* DHCPDISCOVER */
	*o++ = 255;
	return frame_udp(f, frames_bcast, mac, 0, 0xffffffff, 68, 67, bootp, sizeof(bootp));
}
