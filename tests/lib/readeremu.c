/* plsc-reademu: a network badge reader emulator for the badge tests.
 *   plsc-reademu connect HOST PORT FROM_ADDR PRESET [ACTION...]
 *   plsc-reademu listen  BIND_ADDR PORT PRESET [ACTION...]
 * connect: like a reader configured to connect to the server (from the
 * loopback address FROM_ADDR, so several readers can live on one host).
 * listen: like a reader in server mode: waits for the service to dial in,
 * then performs the actions on that connection; writes "ready" to stdout
 * once listening.
 * PRESET: elatec-tcpconv2 (hex, CR LF) or rfideas-e241 (decimal, CR).
 * ACTIONS, in order: badge:HEX (one read of the card whose canonical ID is
 * HEX), twice:HEX (the same card twice in quick succession), sleep:MS,
 * garbage, long (an over-long line), binary, hold:MS (stay connected
 * silently). The connection is closed at the end. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void put(int fd, const char *s, size_t n)
{
	if (write(fd, s, n) != (ssize_t)n)
		perror("write");
}

/* A card read as the preset would send it. */
static void frame(int fd, const char *preset, const char *hex)
{
	char buf[128];
	if (strcmp(preset, "rfideas-e241") == 0) {
		unsigned long long v = strtoull(hex, NULL, 16);
		snprintf(buf, sizeof(buf), "%010llu\r", v);
	} else {
		size_t n = strlen(hex), o = 0;
		if (n % 2)
			buf[o++] = '0';
		for (size_t i = 0; i < n && o < sizeof(buf) - 3; i++)
			buf[o++] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
		buf[o++] = '\r';
		buf[o++] = '\n';
		buf[o] = '\0';
	}
	put(fd, buf, strlen(buf));
}

static void act(int fd, const char *preset, const char *a)
{
	if (strncmp(a, "badge:", 6) == 0) {
		frame(fd, preset, a + 6);
	} else if (strncmp(a, "twice:", 6) == 0) {
		frame(fd, preset, a + 6);
		sleep_ms(50);
		frame(fd, preset, a + 6);
	} else if (strncmp(a, "sleep:", 6) == 0) {
		sleep_ms(atol(a + 6));
	} else if (strncmp(a, "hold:", 5) == 0) {
		sleep_ms(atol(a + 5));
	} else if (strcmp(a, "garbage") == 0) {
		put(fd, "hello world!\r\nzz-not-a-badge\r\n", 30);
	} else if (strcmp(a, "long") == 0) {
		char big[3000];
		memset(big, '7', sizeof(big));
		put(fd, big, sizeof(big));
		put(fd, "\r\n", 2);
	} else if (strcmp(a, "binary") == 0) {
		char b[512];
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (char)(i * 37 + 11);
		put(fd, b, sizeof(b));
		put(fd, "\r\n", 2);
	} else {
		fprintf(stderr, "plsc-reademu: unknown action %s\n", a);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, me = { .sin_family = AF_INET };
	int fd, first;
	const char *preset;
	if (argc >= 5 && strcmp(argv[1], "connect") == 0) {
		if (argc < 6) {
			fprintf(stderr, "usage: see source\n");
			return 2;
		}
		preset = argv[5];
		inet_pton(AF_INET, argv[2], &sa.sin_addr);
		sa.sin_port = htons((uint16_t)atoi(argv[3]));
		inet_pton(AF_INET, argv[4], &me.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			return 1;
		}
		first = 6;
	} else if (argc >= 5 && strcmp(argv[1], "listen") == 0) {
		preset = argv[4];
		int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
		inet_pton(AF_INET, argv[2], &me.sin_addr);
		me.sin_port = htons((uint16_t)atoi(argv[3]));
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&me, sizeof(me)) < 0 || listen(l, 4) < 0) {
			perror("listen");
			return 1;
		}
		printf("ready\n");
		fflush(stdout);
		fd = accept(l, NULL, NULL);
		close(l);
		if (fd < 0)
			return 1;
		first = 5;
	} else {
		fprintf(stderr, "usage: plsc-reademu connect HOST PORT FROM PRESET [ACTION...]\n"
				"       plsc-reademu listen BIND PORT PRESET [ACTION...]\n");
		return 2;
	}
	for (int i = first; i < argc; i++)
		act(fd, preset, argv[i]);
	sleep_ms(100); /* let the last frame be read before the close */
	close(fd);
	return 0;
}
