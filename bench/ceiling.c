/* ceiling.c: the benchmark ceiling, a FastCGI program that answers a fixed JSON and nothing else. */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_fd;

static void *serve(void *arg)
{
	static const char reply[] = "Status: 200 OK\r\n"
				    "Content-Type: application/json; charset=utf-8\r\n"
				    "Content-Length: 15\r\n\r\n"
				    "{\"status\":\"ok\"}";
	FCGX_Request r;

	(void)arg;
	if (FCGX_InitRequest(&r, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return NULL;
}

int main(void)
{
	const char *listen = getenv("STORE_LISTEN");
	const char *threads_env = getenv("STORE_THREADS");
	long threads = threads_env ? strtol(threads_env, NULL, 10) : 8;
	pthread_t tids[256];
	sigset_t sigs;
	int sig;

	if (threads < 1 || threads > 256) {
		fprintf(stderr, "store-ceiling: STORE_THREADS must be 1..256\n");
		return 1;
	}
	if (FCGX_Init() != 0)
		return 1;
	if (listen && *listen && strcmp(listen, "fd:0") != 0) {
		if (listen[0] == '/')
			unlink(listen);
		listen_fd = FCGX_OpenSocket(listen, 1024);
		if (listen_fd < 0) {
			fprintf(stderr, "store-ceiling: cannot listen on %s\n", listen);
			return 1;
		}
		if (listen[0] == '/')
			chmod(listen, 0666);
	}
	/* Signals go to this thread only (libfcgi would otherwise install its own SIGTERM handler). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (long i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, serve, NULL);
	sigwait(&sigs, &sig);
	/* Nothing to finish: every answer is written whole before the next accept. */
	shutdown(listen_fd, SHUT_RDWR);
	if (listen && listen[0] == '/')
		unlink(listen);
	return 0;
}
