# TestGraphite.pm -- a private Debian graphite (carbon-cache and
# graphite-web) for a test, fed over the plaintext line protocol.
#
#   my $why = TestGraphite::missing();          # skip reason, or undef
#   my $g = TestGraphite->new;                  # started, or dies
#   $g->send('servers.web1.load', 2.5, time);
#   $g->wait_visible('servers.web1.load', 2.5) or BAIL_OUT(...);
#   $g->wait_visible('old.metric', 3, 30, '-1h');  # timeout, from
#   my $series = $g->render('servers.*.load');  # decoded /render answer
#   $g->url;                                    # http://127.0.0.1:PORT
#
# Everything lives in a temp dir: carbon.conf with a 1s retention, a
# graphite-web settings module, whisper files and logs.  Both servers
# listen on free loopback ports and are stopped (TERM, then waited for)
# in stop, DESTROY and END.  The Debian python modules exist only for
# /usr/bin/python3, not for a python3 earlier on PATH.  Core Perl only.
package TestGraphite;

use strict;
use warnings;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

our $CARBON = '/usr/bin/carbon-cache';
our $PYTHON = '/usr/bin/python3';
our @ALL;

# Why graphite cannot run here, or undef when it can.
sub missing {
	return "no $CARBON (apt-get install graphite-carbon)"
	    unless -x $CARBON;
	return "no $PYTHON" unless -x $PYTHON;
	system($PYTHON, '-c', 'import graphite, carbon, whisper');
	return 'no graphite python module for /usr/bin/python3 '
	    . '(apt-get install graphite-web)' if $? != 0;
	return undef;
}

sub freeport {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => 0, Proto => 'tcp') or die "bind: $!";
	my $p = $s->sockport;
	close($s);
	return $p;
}

sub write_file {
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "write $path: $!";
	print $fh $text;
	close($fh) or die "write $path: $!";
}

sub new {
	my ($class, %o) = @_;
	my $tmp = $o{dir} || tempdir('411-graphite-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{T_KEEP});
	my $self = bless {
		dir	=> $tmp,
		lport	=> freeport(),
		qport	=> freeport(),
		wport	=> freeport(),
		http	=> HTTP::Tiny->new(timeout => 10),
		json	=> JSON::PP->new->allow_nonref,
		pids	=> [],
	}, $class;
	push @ALL, $self;
	$self->start($o{timeout} || 30);
	return $self;
}

sub dir { $_[0]{dir} }
sub port { $_[0]{wport} }
sub line_port { $_[0]{lport} }
sub url { "http://127.0.0.1:$_[0]{wport}" }

# Fork and exec @cmd with output to $log; returns the pid.
sub spawn {
	my ($self, $log, $env, @cmd) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		open(STDOUT, '>', $log) or POSIX::_exit(1);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(1);
		setpgrp(0, 0);
		$ENV{$_} = $env->{$_} for keys %$env;
		exec(@cmd) or POSIX::_exit(1);
	}
	push @{$self->{pids}}, $pid;
	return $pid;
}

sub start {
	my ($self, $timeout) = @_;
	my $t = $self->{dir};
	for my $d ("$t/conf", "$t/storage", "$t/storage/whisper",
	    "$t/storage/log") {
		-d $d or mkdir($d) or die "mkdir $d: $!";
	}
	write_file("$t/conf/carbon.conf", <<"EOF");
[cache]
STORAGE_DIR = $t/storage
LOCAL_DATA_DIR = $t/storage/whisper
LOG_DIR = $t/storage/log
PID_DIR = $t/storage
USER =
ENABLE_TAGS = False
MAX_CREATES_PER_MINUTE = inf
MAX_UPDATES_PER_SECOND = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $self->{lport}
PICKLE_RECEIVER_PORT = 0
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $self->{qport}
EOF
	write_file("$t/conf/storage-schemas.conf", <<"EOF");
[default]
pattern = .*
retentions = 1s:1h,60s:1d
EOF
	write_file("$t/graphite_test_settings.py", <<"EOF");
SECRET_KEY = 'test-only'
STORAGE_DIR = '$t/storage'
WHISPER_DIR = '$t/storage/whisper'
LOG_DIR = '$t/storage/log'
CARBONLINK_HOSTS = ['127.0.0.1:$self->{qport}']
LOG_FILE_INFO = LOG_FILE_EXCEPTION = LOG_FILE_CACHE = LOG_FILE_RENDERING = '-'
EOF
	$self->{carbon} = $self->spawn("$t/carbon.log", {}, $CARBON,
	    "--config=$t/conf/carbon.conf", '--nodaemon', 'start');
	my $web = 'import sys, wsgiref.simple_server as s
from graphite.wsgi import application
class Quiet(s.WSGIRequestHandler):
    def log_message(self, *a):
        pass
s.make_server("127.0.0.1", int(sys.argv[1]), application,
    handler_class=Quiet).serve_forever()';
	$self->{web} = $self->spawn("$t/web.log", {
		PYTHONPATH => $t,
		GRAPHITE_SETTINGS_MODULE => 'graphite_test_settings',
		DJANGO_SETTINGS_MODULE => 'graphite.settings',
	    }, $PYTHON, '-c', $web, $self->{wport});
	my $deadline = time + $timeout;
	my ($carbon_ok, $web_ok) = (0, 0);
	while (time < $deadline) {
		$carbon_ok ||= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
		    PeerPort => $self->{lport}, Proto => 'tcp') ? 1 : 0;
		$web_ok ||= $self->{http}->get($self->url . '/version')
		    ->{success} ? 1 : 0;
		return $self if $carbon_ok && $web_ok;
		for my $k (qw(carbon web)) {
			next unless $self->{$k};
			if (waitpid($self->{$k}, POSIX::WNOHANG()) ==
			    $self->{$k}) {
				my $log = $self->logs;
				$self->{pids} = [grep { $_ != $self->{$k} }
				    @{$self->{pids}}];
				$self->stop;
				die "graphite $k exited during start-up:\n$log";
			}
		}
		sleep(0.1);
	}
	my $log = $self->logs;
	$self->stop;
	die "graphite not ready after ${timeout}s:\n$log";
}

# Both servers' logs, for a diag.
sub logs {
	my ($self) = @_;
	my $out = '';
	for my $f ('carbon.log', 'web.log') {
		open(my $fh, '<', "$self->{dir}/$f") or next;
		local $/;
		$out .= "--- $f\n" . (<$fh> // '');
	}
	return $out;
}

# Send one point (or [metric, value, ts] lists) over the line protocol.
sub send {
	my ($self, @pts) = @_;
	@pts = ([@pts]) unless ref $pts[0];
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $self->{lport}, Proto => 'tcp')
	    or die "connect to carbon: $!";
	for my $p (@pts) {
		my ($m, $v, $ts) = @$p;
		$ts //= int(time);
		print $s "$m $v $ts\n";
	}
	close($s);
}

# GET /render for $target (format=json); the decoded answer, or undef.
sub render {
	my ($self, $target, $from) = @_;
	$from //= '-10min';
	my $q = $self->{http}->www_form_urlencode({ target => $target,
	    format => 'json', from => $from });
	my $res = $self->{http}->get($self->url . "/render?$q");
	return undef unless $res->{success};
	my $j = eval { $self->{json}->decode($res->{content}) };
	return $j;
}

# Poll (up to $timeout s) until $metric's last non-null point since $from
# (default -10min) is $value.
sub wait_visible {
	my ($self, $metric, $value, $timeout, $from) = @_;
	my $deadline = time + ($timeout || 30);
	while (time < $deadline) {
		my $j = $self->render($metric, $from);
		if (ref $j eq 'ARRAY' && @$j) {
			my @v = grep { defined $_->[0] }
			    @{$j->[0]{datapoints} // []};
			return 1 if @v && $v[-1][0] == $value;
		}
		sleep(0.2);
	}
	return 0;
}

# Stop both servers (TERM, then wait; KILL after 20 s).
sub stop {
	my ($self) = @_;
	my @pids = @{$self->{pids}};
	$self->{pids} = [];
	kill('TERM', $_) for @pids;
	for my $pid (@pids) {
		my $deadline = time + 20;
		while (waitpid($pid, POSIX::WNOHANG()) == 0) {
			if (time > $deadline) {
				kill('KILL', $pid);
				waitpid($pid, 0);
				last;
			}
			sleep(0.05);
		}
	}
}

sub DESTROY {
	my ($self) = @_;
	local ($?, $!, $@);
	$self->stop if @{$self->{pids} || []};
}

END {
	local ($?, $!, $@);
	$_->stop for grep { $_ && @{$_->{pids} || []} } @ALL;
}

1;
