#!/usr/bin/perl
# 0430-prometheus.t -- the prometheus search type against a real, private
# Debian prometheus that scrapes 411d's own /metrics: a vector gives one
# record per series with its labels, an empty vector no alert, a scalar
# one record, bad PromQL fails the run in Prometheus's words, a range
# vector is refused, and definitions with a wrong source are refused.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use HTTP::Tiny;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(sleep time);
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
my $prom = '/usr/bin/prometheus';
plan skip_all => "no $prom (apt-get install prometheus)" unless -x $prom;

sub freeport {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => 0, Proto => 'tcp') or die "bind: $!";
	my $p = $s->sockport;
	close($s);
	return $p;
}

my $pport = freeport();
my $purl = "http://127.0.0.1:$pport";
my $d = Test411->new(sources => "source prom prometheus $purl\n" .
    "source other prometheus http://127.0.0.1:9\n" .
    "source logs es http://127.0.0.1:9 index logs-* date_field \@timestamp");
$d->start;
my $dport = $d->port;

# Prometheus, private: its own dir, port and data, scraping 411d.
my $tmp = tempdir('411-prom-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{T_KEEP});
mkdir("$tmp/data") or die "mkdir: $!";
open(my $fh, '>', "$tmp/prometheus.yml") or die "write: $!";
print $fh <<"EOF";
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: four11
    static_configs:
      - targets: ['127.0.0.1:$dport']
EOF
close($fh);
my $ppid = fork();
die "fork: $!" unless defined $ppid;
if ($ppid == 0) {
	open(STDOUT, '>', "$tmp/prom.log") or POSIX::_exit(1);
	open(STDERR, '>&', \*STDOUT) or POSIX::_exit(1);
	setpgrp(0, 0);
	exec($prom, "--config.file=$tmp/prometheus.yml",
	    "--storage.tsdb.path=$tmp/data",
	    "--web.listen-address=127.0.0.1:$pport", '--log.level=warn')
	    or POSIX::_exit(1);
}
END {
	if ($ppid) {
		kill('TERM', $ppid);
		waitpid($ppid, 0);
	}
}

# Wait (30 s at most) until the target is scraped and up.
my $http = HTTP::Tiny->new(timeout => 5);
my $up = $d->wait_for(sub {
	my $res = $http->get("$purl/api/v1/query?query=up");
	return $res->{success} && $res->{content} =~ /"value":\[[0-9.]+,"1"\]/;
}, 30);
unless ($up) {
	my $log = '';
	if (open(my $l, '<', "$tmp/prom.log")) { local $/; $log = <$l> }
	diag "prometheus log:\n$log";
	BAIL_OUT("prometheus did not scrape 411d within 30s");
}
pass('prometheus scrapes 411d');

my $defs = 0;
sub def {
	my (%o) = @_;
	return { name => "prom check " . ++$defs, type => 'prometheus', source => 'prom',
	    schedule => { every => '1h' }, enabled => JSON::PP::false, %o };
}

# Create a search, run it by hand, give the run's answer.
sub run_def {
	my ($what, $body, %o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', def(%o));
	is($st, 201, "$what: created") or do { diag explain $s; return {} };
	my ($rst, $r) = $d->api(POST => "/api/v1/searches/$s->{id}/run",
	    $body // {});
	is($rst, 200, "$what: run answers") or diag explain $r;
	return $r // {};
}

sub refused {
	my ($what, $field, %o) = @_;
	my ($st, $j) = $d->api(POST => '/api/v1/searches', def(%o));
	is($st, 422, "$what: 422");
	is($j->{error}{field}, $field, "$what: naming $field")
	    or diag explain $j;
	return $j;
}

# A vector with one series: one alert with its labels.
my $r = run_def('up == 1', undef, query => 'up == 1');
is($r->{state}, 'success', 'up == 1: the run succeeded') or diag explain $r;
is($r->{alerts}, 1, 'up == 1: one alert (one series)') or diag explain $r;
my $c = $r->{results}[0]{content} // {};
is($c->{job}, 'four11', '... with the job label');
is($c->{instance}, "127.0.0.1:$dport", '... and the instance label');
is($c->{__name__}, 'up', '... and the metric name as __name__ (a filter '
    . 'keeps it)') or diag explain $c;
is($c->{value}, 1, '... value is the number 1');
like($c->{time} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, '... and a time');

# A comparison with bool drops the metric name: no __name__ then.
$r = run_def('up == bool 1', undef, query => 'up == bool 1');
is($r->{alerts}, 1, 'up == bool 1: one alert') or diag explain $r;
ok(!exists $r->{results}[0]{content}{__name__}, '... without __name__')
    or diag explain $r;
is($r->{results}[0]{content}{job}, 'four11', '... with the job label');

# An empty vector: no hits, no alert.
$r = run_def('up == 0', undef, query => 'up == 0');
is($r->{state}, 'success', 'up == 0: the run succeeded') or diag explain $r;
is($r->{alerts}, 0, 'up == 0: no alert');
is($r->{hits} // 0, 0, 'up == 0: no hits') or diag explain $r;

# count mode with a threshold on the number of series.
$r = run_def('count', undef, query => 'up', result => 'count',
    threshold => [1, undef]);
is($r->{alerts}, 1, 'result count: one alert') or diag explain $r;
is($r->{results}[0]{content}{count}, 1, '... counting one series')
    or diag explain $r;
$r = run_def('count over', undef, query => 'up', result => 'count',
    threshold => [2, undef]);
is($r->{alerts}, 0, 'result count below the threshold: no alert')
    or diag explain $r;

# An aggregation: a vector of one series without labels.
$r = run_def('count(up)', undef, query => 'count(up)');
is($r->{alerts}, 1, 'count(up): one alert') or diag explain $r;
is($r->{results}[0]{content}{value}, 1, '... value 1');

# A real scalar.
$r = run_def('scalar', undef, query => 'scalar(count(up)) * 2');
is($r->{state}, 'success', 'scalar: the run succeeded') or diag explain $r;
is($r->{alerts}, 1, 'scalar: one alert') or diag explain $r;
is($r->{results}[0]{content}{value}, 2, '... value 2');

# Dry run: the same, nothing kept.
$r = run_def('dry', { dry_run => JSON::PP::true }, query => 'up == 1');
is($r->{mode}, 'dry_run', 'dry run: a dry run') or diag explain $r;
is($r->{alerts}, 1, 'dry run: would make one alert');
is($r->{results}[0]{content}{job}, 'four11', '... with the job label');

# Bad PromQL: the run fails with Prometheus's error.
$r = run_def('bad promql', undef, query => 'up ==');
is($r->{state}, 'failed', 'up ==: the run failed') or diag explain $r;
like($r->{error} // '', qr/400: bad_data: .*parse error/,
    '... with Prometheus errorType and text') or diag explain $r;

# A range vector is not an instant result.
$r = run_def('matrix', undef, query => 'up[1m]');
is($r->{state}, 'failed', 'up[1m]: the run failed') or diag explain $r;
like($r->{error} // '', qr/range vector/, '... saying why')
    or diag explain $r;

# An unreachable source: failed, not an alert.
$r = run_def('down', undef, source => 'other', query => 'up');
is($r->{state}, 'failed', 'unreachable source: the run failed')
    or diag explain $r;

# Validation.
refused('no such source', 'source', source => 'nosuch', query => 'up');
refused('es source', 'source', source => 'logs', query => 'up');
refused('no query', 'query', query => undef);
refused('empty query', 'query', query => '');
refused('foreign key', 'index', query => 'up', index => 'x');
refused('foreign url', 'url', query => 'up', url => 'http://x/');

done_testing();
