# Test411.pm -- start a real 411d for a test, talk to its API, stop it.
#
#   my $d = Test411->new(redis => $redis, es => $es, conf => "...");
#   $d->start;                                  # waits for "ready api="
#   my ($status, $json) = $d->api(POST => '/api/v1/searches', \%body);
#   $d->stop;  $d->kill9;  $d->start;           # same datadir again
#
# Core Perl only.  The daemon runs under timeout(1) so a hung 411d cannot
# outlive the test, and is killed in DESTROY and END.
package Test411;

use strict;
use warnings;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our @ALL;
our %KEYS = (
	admin  => 'admin-key-0123456789abcdef',
	editor => 'editor-key-0123456789abcdef',
	viewer => 'viewer-key-0123456789abcdef',
);

sub binary {
	my $b = $ENV{T_BUILDDIR} ? "$ENV{T_BUILDDIR}/src/411d" : './src/411d';
	return $b;
}

sub srcdir {
	return $ENV{T_SRCDIR} || '.';
}

sub new {
	my ($class, %o) = @_;
	my $self = bless {
		dir	=> $o{dir} || tempdir('411-t-XXXXXX', TMPDIR => 1,
		    CLEANUP => !$ENV{T_KEEP}),
		redis	=> $o{redis},
		es	=> $o{es},
		conf	=> $o{conf} // '',
		sources => $o{sources},
		searches_dir => $o{searches_dir},
		json	=> JSON::PP->new->canonical->allow_nonref,
		http	=> HTTP::Tiny->new(timeout => 60, keep_alive => 1),
		pid	=> undef,
		args	=> $o{args} || [],
	}, $class;
	push @ALL, $self;
	return $self;
}

sub dir { $_[0]{dir} }
sub datadir { "$_[0]{dir}/data" }
sub logfile { "$_[0]{dir}/411d.log" }
sub conffile { "$_[0]{dir}/411d.conf" }
sub port { $_[0]{port} }
sub url { "http://127.0.0.1:$_[0]{port}" }
sub pid { $_[0]{pid} }

# The config file: listen on a free port, our datadir, redis, sources, keys.
sub write_conf {
	my ($self) = @_;
	my $redis = $self->{redis} ? 'unix:' . $self->{redis}->socket
	    : "unix:$self->{dir}/no-redis.sock";
	my @lines = (
		"listen 127.0.0.1:0",
		"datadir " . $self->datadir,
		"redis $redis",
		"shutdown_grace 10s",
	);
	if ($self->{es}) {
		push @lines, "source logs es " . $self->{es}->url .
		    " index logs-* date_field \@timestamp timeout 20s";
	}
	push @lines, $self->{sources} if defined $self->{sources};
	push @lines, "searches_dir $self->{searches_dir}"
	    if defined $self->{searches_dir};
	for my $role (sort keys %KEYS) {
		push @lines, "api_key $role-key $role $KEYS{$role}";
	}
	push @lines, "target soc-webhook webhook url http://127.0.0.1:9/hook";
	push @lines, "target mail email smtp_url smtp://127.0.0.1:9 from a\@example.com";
	push @lines, $self->{conf} if length $self->{conf};
	open(my $fh, '>', $self->conffile) or die "write conf: $!";
	print $fh join("\n", @lines), "\n";
	close($fh);
}

# Start 411d; wait (up to $timeout s) for the ready line.
sub start {
	my ($self, %o) = @_;
	my $timeout = $o{timeout} || 30;
	die "411d already running" if $self->{pid};
	$self->write_conf unless $o{keep_conf};
	my $bin = binary();
	die "no 411d binary at $bin" unless -x $bin;
	my $logpos = -s $self->logfile || 0;
	$self->{logpos} = $logpos;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		open(STDOUT, '>>', $self->logfile) or die;
		open(STDERR, '>>', $self->logfile) or die;
		setpgrp(0, 0);
		my @cmd = ($bin, '-d', '-c', $self->conffile, @{$self->{args}});
		unshift @cmd, 'timeout', '-s', 'KILL', '900'
		    if -x '/usr/bin/timeout';
		exec(@cmd) or die "exec: $!";
	}
	$self->{pid} = $pid;
	my $deadline = time + $timeout;
	while (time < $deadline) {
		my $log = $self->log_since($logpos);
		if ($log =~ /ready api=[^:\s]+:(\d+)/) {
			$self->{port} = $1;
			return $self;
		}
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{pid} = undef;
			die "411d exited during start-up:\n$log";
		}
		sleep(0.05);
	}
	my $log = $self->log_since($logpos);
	$self->kill9;
	die "411d not ready after ${timeout}s:\n$log";
}

# What 411d logged (since byte offset $from, or this start).
sub log_since {
	my ($self, $from) = @_;
	$from //= $self->{logpos} // 0;
	open(my $fh, '<', $self->logfile) or return '';
	seek($fh, $from, 0);
	local $/;
	my $s = <$fh>;
	close($fh);
	return $s // '';
}
sub log { my ($self) = @_; return $self->log_since(0) }

# SIGTERM and wait; returns the exit status.
sub stop {
	my ($self, %o) = @_;
	my $pid = $self->{pid} or return;
	# To 411d itself: timeout(1) would pass it on twice (to its child and
	# to its process group), and a second SIGTERM means "stop now".
	kill('TERM', $self->daemon_pid // $pid);
	my $deadline = time + ($o{timeout} || 30);
	while (time < $deadline) {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid) {
			$self->{pid} = undef;
			return $? >> 8;
		}
		sleep(0.05);
	}
	kill('KILL', -$pid);
	waitpid($pid, 0);
	$self->{pid} = undef;
	die "411d did not stop within the deadline";
}

# SIGKILL, no goodbye.
sub kill9 {
	my ($self) = @_;
	my $pid = $self->{pid} or return;
	kill('KILL', -$pid) or kill('KILL', $pid);
	waitpid($pid, 0);
	$self->{pid} = undef;
}

# Signal 411d itself (not timeout(1), which passes on only some signals).
sub signal {
	my ($self, $sig) = @_;
	my $pid = $self->daemon_pid or return;
	kill($sig, $pid);
}

# Call the API: returns ($status, $decoded_json_or_undef, $raw_body, $res).
sub api {
	my ($self, $method, $path, $body, %o) = @_;
	my $role = exists $o{key} ? $o{key} : 'admin';
	my %h = ('Accept' => 'application/json');
	if (defined $role) {
		$h{Authorization} = 'Bearer ' . ($KEYS{$role} // $role);
	}
	%h = (%h, %{$o{headers}}) if $o{headers};
	my %args = (headers => \%h);
	if (defined $body) {
		$args{content} = ref $body ? $self->{json}->encode($body)
		    : $body;
		$h{'Content-Type'} //= 'application/json';
	}
	my $res = $self->{http}->request($method, $self->url . $path, \%args);
	my $json;
	if (defined $res->{content} && length $res->{content}) {
		$json = eval { $self->{json}->decode($res->{content}) };
	}
	return ($res->{status}, $json, $res->{content}, $res);
}

# Poll $cond until true or $timeout seconds pass; returns the last value.
sub wait_for {
	my ($self, $cond, $timeout) = @_;
	$timeout ||= 20;
	my $deadline = time + $timeout;
	my $v;
	while (1) {
		$v = $cond->();
		return $v if $v;
		return $v if time >= $deadline;
		sleep(0.1);
	}
}

# Scrape one metric value from /metrics.
sub metric {
	my ($self, $name) = @_;
	my $res = $self->{http}->get($self->url . '/metrics');
	return undef unless $res->{success};
	for my $line (split /\n/, $res->{content}) {
		next if $line =~ /^#/;
		my ($n, $v) = $line =~ /^(\S+)\s+(\S+)$/ or next;
		return $v + 0 if $n eq $name;
	}
	return undef;
}

# Peak resident memory of the daemon so far, in kB (VmHWM).
sub peak_rss_kb {
	my ($self) = @_;
	my $pid = $self->daemon_pid or return undef;
	open(my $fh, '<', "/proc/$pid/status") or return undef;
	while (<$fh>) {
		return $1 if /^VmHWM:\s+(\d+)\s+kB/;
	}
	return undef;
}

# The pid of 411d itself (under timeout(1), our child is timeout).
sub daemon_pid {
	my ($self) = @_;
	my $pid = $self->{pid} or return undef;
	my $comm = do { local @ARGV = ("/proc/$pid/comm"); <> } // '';
	chomp $comm;
	return $pid if $comm eq '411d';
	opendir(my $d, '/proc') or return undef;
	for my $p (grep { /^\d+$/ } readdir($d)) {
		open(my $fh, '<', "/proc/$p/stat") or next;
		my $stat = <$fh>;
		close($fh);
		next unless $stat && $stat =~ /^\d+ \((.*?)\) \S (\d+)/;
		return $p if $1 eq '411d' && $2 == $pid;
	}
	return undef;
}

# A search definition over the fake, with overrides.
# Search names are unique: each definition gets its own unless %o names it.
my $SEARCH_N = 0;
sub es_search {
	my ($self, %o) = @_;
	return {
		name	 => 'test search ' . ++$SEARCH_N,
		type	 => 'es',
		source	 => 'logs',
		query	 => 'program:sshd',
		result	 => 'fields',
		schedule => { every => '1h' },
		# manual runs only, unless a test turns scheduling on
		enabled  => JSON::PP::false,
		%o,
	};
}

sub DESTROY {
	my ($self) = @_;
	local ($?, $!, $@);
	$self->kill9 if $self->{pid};
}

END {
	local ($?, $!, $@);
	$_->kill9 for grep { $_ && $_->{pid} } @ALL;
}

1;
