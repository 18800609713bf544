#!/usr/bin/perl
# 0200-fake-es.t -- the Elasticsearch look-alike answers like each flavour.
#
# For es6, es7, es8, os1 and os2: identity, total shapes, a query string
# with a range, search_after paging, scroll and point-in-time lifecycles,
# faults, the request log, errors, and a 30 MB generated index streamed in
# pages, with the requests src_es.c sends.
use strict;
use warnings;
use Test::More;
use Time::HiRes ();
use FakeES;

plan skip_all => 'python3 not found' unless FakeES->available;

my $BASE = 1704067200000;		# 2024-01-01T00:00:00Z
my @PROG = qw(sshd nginx sudo);
my @USER = qw(root alice bob carol);

sub iso {
	my ($ms) = @_;
	my @t = gmtime(int($ms / 1000));
	return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
	    $t[4] + 1, $t[3], $t[2], $t[1], $t[0], $ms % 1000);
}

# 25 docs, one a minute; the odd ones carry the time as epoch ms.
sub docs25 {
	my @d;
	for my $i (0 .. 24) {
		my $ms = $BASE + $i * 60000;
		my $ok = $i % 4 == 0;
		push @d, {
			_id => "d$i",
			'@timestamp' => $i % 2 ? $ms : iso($ms),
			program => $PROG[$i % 3],
			user => { name => $USER[$i % 4] },
			message => ($ok ? 'Accepted' : 'Failed') .
			    " password for $USER[$i % 4] from 10.0.0.$i",
			n => $i,
		};
	}
	return \@d;
}

# The body src_es.c sends (query string + window, sorted, exact total).
sub es_body {
	my (%o) = @_;
	my %b = (
		size => $o{size} // 10000,
		query => { bool => {
			must => [{ query_string => { query => $o{q} // '*' } }],
			filter => [{ range => { '@timestamp' => {
			    gte => $o{from} // 0, lt => $o{to} // 4e12,
			    format => 'epoch_millis' } } }],
		} },
		track_total_hits => JSON::PP::true,
	);
	unless ($o{count}) {
		$b{sort} = [{ '@timestamp' => { order => 'asc',
		    unmapped_type => 'date' } }];
		$b{_source} = [@{ $o{source} }, '@timestamp'] if $o{source};
		$b{search_after} = $o{after} if $o{after};
		$b{pit} = { id => $o{pit}, keep_alive => '2m' } if $o{pit};
	}
	return \%b;
}

sub ids { [map { $_->{_id} } @{ $_[0]{hits}{hits} }] }

sub total_value {
	my ($j) = @_;
	my $t = $j->{hits}{total};
	return ref $t ? $t->{value} : $t;
}

my %VERSION = (es6 => qr/^6\.8\./, es7 => qr/^7\.17\./, es8 => qr/^8\.11\./,
    os1 => qr/^1\.3\./, os2 => qr/^2\.11\./);

for my $fl (qw(es6 es7 es8 os1 os2)) {
	subtest "flavour $fl" => sub { flavour_tests($fl) };
}
done_testing();

sub flavour_tests {
	my ($fl) = @_;
	my $es = FakeES->new(flavour => $fl);
	my $os = $fl =~ /^os/;
	my $objtotal = $fl ne 'es6';
	my $pit = $fl eq 'es7' || $fl eq 'es8' ? 'es' : $fl eq 'os2' ? 'os' : '';

	# Identity.
	my ($st, $j) = $es->call(GET => '/');
	is($st, 200, 'GET / is 200');
	like($j->{version}{number}, $VERSION{$fl}, 'version number');
	is($j->{version}{distribution}, $os ? 'opensearch' : undef,
	    'distribution');

	is($es->docs('logs-a', docs25()), 25, '25 docs added');
	$es->docs('logs-b', [{ '@timestamp' => iso($BASE + 30 * 60000),
	    program => 'sshd', message => 'Failed password for root' }]);

	# Total shapes.
	($st, $j) = $es->search('logs-a', { size => 0 });
	is($st, 200, 'size 0 search');
	if ($objtotal) {
		is_deeply($j->{hits}{total}, { value => 25, relation => 'eq' },
		    'object total');
	} else {
		is($j->{hits}{total}, 25, 'integer total');
	}
	($st, $j) = $es->search('logs-a', { size => 0,
	    track_total_hits => JSON::PP::false });
	if ($objtotal) {
		ok(!exists $j->{hits}{total}, 'untracked total is omitted');
	} else {
		is($j->{hits}{total}, -1, 'untracked total is -1 on es6');
	}
	($st, $j) = $es->search('logs-a', { size => 0, track_total_hits => 5 });
	if ($objtotal) {
		is_deeply($j->{hits}{total}, { value => 5, relation => 'gte' },
		    'total capped by a number');
		($st, $j) = $es->search('logs-a', { size => 0 },
		    'rest_total_hits_as_int=true');
		is($j->{hits}{total}, 25, 'rest_total_hits_as_int');
	} else {
		is($st, 400, 'a numeric track_total_hits is refused on es6');
		ok(1, 'placeholder');
	}
	$es->generate(index => 'many', count => 12000, doc_bytes => 100,
	    start_ms => $BASE, step_ms => 1000);
	($st, $j) = $es->search('many', { size => 0 });
	if ($objtotal) {
		is_deeply($j->{hits}{total}, { value => 10000,
		    relation => 'gte' }, 'default cap 10000 gte');
	} else {
		is($j->{hits}{total}, 12000, 'es6 counts exactly');
	}
	($st, $j) = $es->search('many', { size => 0,
	    track_total_hits => JSON::PP::true });
	is(total_value($j), 12000, 'track_total_hits true is exact');

	# A query string with a range: exactly the right docs.
	my $q = 'program:sshd AND (message:failed OR user.name:root) ' .
	    'AND NOT user.name:bob';
	my ($from, $to) = ($BASE + 3 * 60000, $BASE + 22 * 60000);
	my @want;
	for my $d (@{ docs25() }) {
		my $ms = $BASE + $d->{n} * 60000;
		next unless $ms >= $from && $ms < $to;
		next unless $d->{program} eq 'sshd';
		next unless $d->{message} =~ /failed/i ||
		    $d->{user}{name} eq 'root';
		next if $d->{user}{name} eq 'bob';
		push @want, $d->{_id};
	}
	ok(@want >= 3, 'the query selects some docs: @want');
	($st, $j) = $es->search('logs-*', es_body(q => $q, from => $from,
	    to => $to, source => ['user.name', 'message']),
	    'ignore_unavailable=true&allow_no_indices=true');
	is($st, 200, 'query_string + range is 200');
	is_deeply(ids($j), \@want, 'exactly the right docs, in time order');
	is(total_value($j), scalar @want, 'and the right total');
	my $h = $j->{hits}{hits}[0];
	is_deeply([sort keys %{ $h->{_source} }], ['@timestamp', 'message',
	    'user'], '_source filtered to the list');
	is_deeply([keys %{ $h->{_source}{user} }], ['name'],
	    'dotted _source names give nested fields');
	is(ref $h->{sort}, 'ARRAY', 'hits carry sort');
	ok(!defined $h->{_score}, '_score null when sorted');
	if ($fl eq 'es8' || $fl eq 'os2') {
		ok(!exists $h->{_type}, 'no _type');
	} else {
		is($h->{_type}, '_doc', '_type _doc');
	}
	($st, $j) = $es->search('logs-*', es_body(q => '"password for alice"',
	    count => 1, size => 0));
	is(total_value($j), 6, 'a phrase');
	($st, $j) = $es->search('logs-*', es_body(q => 'user.name:ca* -program:sudo',
	    count => 1, size => 0));
	is(total_value($j), 4, 'a wildcard and -term');
	($st, $j) = $es->search('logs-*', es_body(q => '10.0.0.7', size => 50));
	is_deeply(ids($j), ['d7'], 'a bare term matches any field');

	# search_after paging: pages of 10 give each doc once.
	my (%seen, @pages, $after);
	for my $page (1 .. 6) {
		($st, $j) = $es->search('logs-a', es_body(size => 10,
		    $after ? (after => $after) : ()));
		last unless $st == 200 && @{ $j->{hits}{hits} };
		push @pages, scalar @{ $j->{hits}{hits} };
		$seen{$_}++ for @{ ids($j) };
		$after = $j->{hits}{hits}[-1]{sort};
	}
	is_deeply(\@pages, [10, 10, 5], 'search_after pages of 10');
	is(scalar(grep { $seen{$_} == 1 } keys %seen), 25, 'each doc once');

	# Scroll lifecycle.
	($st, $j) = $es->search('logs-a', es_body(size => 10),
	    'ignore_unavailable=true&allow_no_indices=true&scroll=2m');
	my $sid = $j->{_scroll_id};
	ok($sid, 'scroll id');
	%seen = ();
	@pages = (scalar @{ $j->{hits}{hits} });
	$seen{$_}++ for @{ ids($j) };
	for (1 .. 5) {
		($st, $j) = $es->call(POST => '/_search/scroll',
		    { scroll => '2m', scroll_id => $sid });
		last unless $st == 200 && @{ $j->{hits}{hits} };
		push @pages, scalar @{ $j->{hits}{hits} };
		$seen{$_}++ for @{ ids($j) };
		is(total_value($j), 25, 'scroll pages keep the total')
		    if @pages == 2;
	}
	is_deeply(\@pages, [10, 10, 5], 'scroll pages');
	is(scalar(grep { $seen{$_} == 1 } keys %seen), 25, 'scroll: each once');
	($st, $j) = $es->call(DELETE => '/_search/scroll',
	    { scroll_id => [$sid] });
	is($st, 200, 'scroll cleared');
	is_deeply($j, { succeeded => JSON::PP::true, num_freed => 1 },
	    'num_freed 1');
	($st, $j) = $es->call(POST => '/_search/scroll',
	    { scroll => '2m', scroll_id => $sid });
	is($st, 404, 'a cleared scroll is gone');
	is($j->{error}{root_cause}[0]{type}, 'search_context_missing_exception',
	    'search_context_missing_exception');

	# Point in time.
	if ($pit eq 'es') {
		($st, $j) = $es->call(POST =>
		    '/logs-a/_pit?keep_alive=2m&ignore_unavailable=true');
		is($st, 200, 'PIT opened');
		my $id = $j->{id};
		ok($id, 'PIT id');
		$es->docs('logs-a', [{ '@timestamp' => iso($BASE + 100),
		    message => 'after the pit' }]);
		($st, $j) = $es->search('logs-a', es_body(pit => $id));
		is($st, 400, 'a PIT search must not name an index');
		(%seen, @pages, $after) = ();
		for (1 .. 6) {
			($st, $j) = $es->search(undef, es_body(size => 10,
			    pit => $id, $after ? (after => $after) : ()));
			last unless $st == 200 && @{ $j->{hits}{hits} };
			push @pages, scalar @{ $j->{hits}{hits} };
			$seen{$_}++ for @{ ids($j) };
			$after = $j->{hits}{hits}[-1]{sort};
			$id = $j->{pit_id};
		}
		is_deeply(\@pages, [10, 10, 5], 'PIT pages: the snapshot');
		is(scalar(grep { $seen{$_} == 1 } keys %seen), 25,
		    'PIT: each doc once');
		is(scalar @$after, 2, 'PIT sort has the _shard_doc tie-break');
		($st, $j) = $es->call(DELETE => '/_pit', { id => $id });
		is_deeply([$st, $j->{num_freed}], [200, 1], 'PIT closed');
		($st, $j) = $es->search(undef, es_body(pit => $id));
		is($st, 404, 'a closed PIT is gone');
		$es->clear;
		$es->docs('logs-a', docs25());
	} elsif ($pit eq 'os') {
		($st, $j) = $es->call(POST =>
		    '/logs-a/_search/point_in_time?keep_alive=2m');
		my $id = $j->{pit_id};
		ok($st == 200 && $id, 'OpenSearch PIT opened');
		($st, $j) = $es->search(undef, es_body(size => 30, pit => $id));
		is(scalar @{ $j->{hits}{hits} }, 25, 'OpenSearch PIT search');
		($st, $j) = $es->call(DELETE => '/_search/point_in_time',
		    { pit_id => [$id] });
		ok($st == 200 && $j->{pits}[0]{successful}, 'OpenSearch PIT closed');
		ok(1, 'placeholder') for 1 .. 5;
	} else {
		($st, $j) = $es->call(POST => '/logs-a/_pit?keep_alive=2m');
		isnt($st, 200, 'no PIT on this flavour');
		ok(1, 'placeholder') for 1 .. 7;
	}

	# Faults.
	$es->faults([{ method => 'POST', path => '_search$', status => 503,
	    headers => { 'Retry-After' => '2' }, times => 2 }]);
	my @st;
	my $ra;
	for (1 .. 3) {
		my $res;
		($st, $j, undef, $res) = $es->search('logs-a', { size => 0 });
		push @st, $st;
		$ra //= $res->{headers}{'retry-after'};
	}
	is_deeply(\@st, [503, 503, 200], 'a fault counts down its times');
	is($ra, '2', 'fault headers');
	$es->clear_faults;
	$es->faults([{ path => '_search', drop => JSON::PP::true, times => 1 }]);
	($st) = $es->search('logs-a', { size => 0 });
	is($st, 599, 'a dropped connection');
	$es->faults([{ path => '_search', shard_failure => JSON::PP::true,
	    status => 200, reason => 'No mapping found for [foo]',
	    times => 1 }]);
	($st, $j) = $es->search('logs-a', { size => 1 });
	is($st, 200, 'a shard failure is a 200');
	is($j->{_shards}{failed}, 1, '_shards.failed');
	is($j->{_shards}{failures}[0]{reason}{reason},
	    'No mapping found for [foo]', 'failure reason');
	$es->faults([{ path => '_search', timed_out => JSON::PP::true,
	    times => 1 }]);
	($st, $j) = $es->search('logs-a', { size => 1 });
	ok($j->{timed_out}, 'timed_out');
	$es->faults([{ path => '_search', truncate_bytes => 40, times => 1 }]);
	($st, $j) = $es->search('logs-a', { size => 5 });
	ok($st == 599 || !defined $j, 'a truncated answer');
	$es->faults([{ path => '_count', delay_ms => 300, times => 1 }]);
	my $t1 = Time::HiRes::time();
	($st, $j) = $es->call(POST => '/logs-a/_count', { query =>
	    { match_all => {} } });
	ok(Time::HiRes::time() - $t1 >= 0.25, 'a delayed answer');
	is_deeply([$st, $j->{count}], [200, 25], '_count');
	$es->faults([{ path => '_search', status => 502, body => 'Bad Gateway',
	    times => 1 }]);
	($st, $j, my $raw) = $es->search('logs-a', { size => 1 });
	is_deeply([$st, $raw], [502, 'Bad Gateway'], 'a text body');
	$es->clear_faults;

	# The request log.
	$es->clear_requests;
	($st, $j) = $es->search('logs-a', es_body(size => 3),
	    'ignore_unavailable=true&allow_no_indices=true&scroll=2m');
	my $log = $es->requests;
	$es->call(DELETE => '/_search/scroll',
	    { scroll_id => [$j->{_scroll_id}] });
	is(scalar @$log, 1, 'one request logged');
	is($log->[0]{method}, 'POST', 'method');
	is($log->[0]{path}, '/logs-a/_search', 'path');
	is($log->[0]{query}{scroll}, '2m', 'query parameters');
	is($log->[0]{body}{sort}[0]{'@timestamp'}{unmapped_type}, 'date',
	    'parsed body');
	is($log->[0]{status}, 200, 'the status is logged');
	ok($log->[0]{response_bytes} > 100, 'and the size of the answer');

	# Errors.
	($st, $j) = $es->search('nope', { size => 0 });
	is($st, 404, 'missing index');
	is($j->{error}{type}, 'index_not_found_exception',
	    'index_not_found_exception');
	($st, $j) = $es->search('nope', { size => 0 },
	    'ignore_unavailable=true&allow_no_indices=true');
	is_deeply([$st, total_value($j)], [200, 0], 'ignore_unavailable');
	($st, $j) = $es->search('logs-a', es_body(q => 'user:(root OR'));
	is($st, 400, 'bad query string');
	is($j->{error}{type}, 'search_phase_execution_exception', 'its type');
	is($j->{error}{root_cause}[0]{type}, 'query_shard_exception',
	    'its root cause');
	($st, $j) = $es->call(POST => '/logs-a/_search', '{"size":0}');
	is($st, 406, 'no Content-Type: 406');
	is(ref $j->{error}, '', 'the 406 error is a string');
	($st, $j) = $es->search('logs-a', { size => 10, from => 9995 });
	is($st, 400, 'result window');

	# A generated 30 MB index, streamed in pages of 5000.
	my $n = 15000;
	$es->generate(index => 'big', count => $n, doc_bytes => 2000,
	    start_ms => $BASE, step_ms => 1000, fields => { env => 'test' });
	($st, $j) = $es->search('big', es_body(count => 1, size => 0,
	    from => $BASE + 1000 * 100, to => $BASE + 1000 * 350 + 1));
	is(total_value($j), 251, 'a window over the virtual index');
	($st, $j) = $es->search('big', es_body(count => 1, size => 0,
	    q => 'program:sshd AND seq:[10 TO 19]'));
	is(total_value($j), 10, 'a query string over the virtual index');
	my (%seq, $bytes, $id, $sid2);
	$bytes = 0;
	my $pages = 0;
	$after = undef;
	if ($pit eq 'es') {
		($st, $j) = $es->call(POST =>
		    '/big/_pit?keep_alive=2m&ignore_unavailable=true');
		$id = $j->{id};
	}
	my $t0 = time;
	for (1 .. 6) {
		my ($buf, $cnt, $last, $scroll) = ('', 0, undef, undef);
		my $scan = sub {
			my ($text) = @_;
			while ($text =~ /"seq":(\d+)/g) { $seq{$1}++; $cnt++ }
			$last = $1 while $text =~ /"sort":(\[[^\]]*\])/g;
			$scroll //= $1 if $text =~ /"_scroll_id":"([^"]+)"/;
		};
		my $cb = sub {
			$bytes += length $_[0];
			$buf .= $_[0];
			my $k = rindex($buf, '{"_index"');
			if ($k > 0) {
				$scan->(substr($buf, 0, $k));
				substr($buf, 0, $k) = '';
			}
		};
		if ($pit eq 'es') {
			($st) = $es->call(POST => '/_search',
			    es_body(size => 5000, pit => $id,
			    $after ? (after => JSON::PP->new->decode($after))
			    : ()), data_callback => $cb);
		} elsif (!defined $sid2) {
			($st) = $es->call(POST => '/big/_search?ignore_unavailable=' .
			    'true&allow_no_indices=true&scroll=2m',
			    es_body(size => 5000), data_callback => $cb);
		} else {
			($st) = $es->call(POST => '/_search/scroll',
			    { scroll => '2m', scroll_id => $sid2 },
			    data_callback => $cb);
		}
		$scan->($buf);
		last unless $st == 200 && $cnt > 0;
		$pages++;
		$after = $last;
		$sid2 //= $scroll;
		last if $cnt < 5000;
	}
	diag(sprintf('%s: %.1f MB in %d pages, %.1f s', $fl, $bytes / 1e6,
	    $pages, time - $t0));
	is($pages, 3, 'three pages of 5000');
	is(scalar keys %seq, $n, 'every generated doc once');
	is(scalar(grep { $_ != 1 } values %seq), 0, 'no doc twice');
	ok($bytes > 30_000_000, 'about 30 MB streamed');
	if ($pit eq 'es') {
		$es->call(DELETE => '/_pit', { id => $id });
	} elsif ($sid2) {
		$es->call(DELETE => '/_search/scroll', { scroll_id => [$sid2] });
	}
	is_deeply($es->contexts, { scrolls => [], pits => [] },
	    'no contexts left open');
	$es->stop;
}
