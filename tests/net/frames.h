/* Hand-built Ethernet frames for mica-net's tests and load generator:
 * just enough IPv4, UDP, ARP and DHCP to talk to a TAP or to slirp. */
#ifndef MICA_TESTS_NET_FRAMES_H
#define MICA_TESTS_NET_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define ETH_TEST_TYPE 0x88b5          /* IEEE local experimental */

extern const uint8_t frames_guest_mac[6];
extern const uint8_t frames_bcast[6];

/* Ethernet header; returns 14. */
size_t frame_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/* A test frame of len bytes (>= 18) with ETH_TEST_TYPE and seq. */
size_t frame_test(uint8_t *f, size_t len, const uint8_t src[6], uint32_t seq);
uint32_t frame_test_seq(const uint8_t *f);

/* Ethernet + IPv4 + UDP around payload (UDP checksum 0, IP checksum
 * filled); addresses and ports in host order.  Returns the length. */
size_t frame_udp(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		 uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload,
		 size_t plen);

/* ARP request from (mac, ip) for target_ip. */
size_t frame_arp_request(uint8_t *f, const uint8_t mac[6], uint32_t ip, uint32_t target_ip);

/* DHCP DISCOVER from mac with transaction id xid. */
size_t frame_dhcp_discover(uint8_t *f, const uint8_t mac[6], uint32_t xid);

uint16_t ip_checksum(const void *data, size_t len);

#endif
