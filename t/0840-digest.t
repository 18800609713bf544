#!/usr/bin/perl
# 0840-digest.t -- hourly digests for email targets, end to end: a push
# search whose email target says "digest": "hourly" gets no job per alert;
# after the hour (the clock moved with FOUR11_CLOCK_OFFSET_MS across a
# restart) one "digest" job lists the alerts as they are now (one resolved
# since shows resolved), 411-notify mails it to a real SMTP server
# (aiosmtpd), and a later pass writes no second digest.  A week later the
# weekly summary (weekly_summary mailx) counts the search's alerts.  Also:
# a bad "digest" value and a digest on a non-email target are refused with
# 422.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use TestReceiver;
use TestPyHelper qw(wait_for slurp_json);

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no 411-notify' unless -x TestNotify::binary();
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no aiosmtpd for /usr/bin/python3'
    unless TestPyHelper::have_aiosmtpd();

my $J = JSON::PP->new->canonical;
# The entries of a stream as [{field => value}].
sub entries {
	my ($redis, $key) = @_;
	my $res = $redis->cmd('XRANGE', $key, '-', '+');
	return [map { +{ @{$_->[1]} } } @{ref $res eq 'ARRAY' ? $res : []}];
}

my ($mdir, $mport) = TestPyHelper::start('smtp_sink.py');
my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis, conf => "target mailx email\n" .
    "target hook webhook\nbase_url http://411.example.com\n" .
    "weekly_summary mailx");

# A minute past the next Monday 00:00 UTC, so that the alerts are not due
# before the restart however slow the machine, and the week is known.
my $day = 86400_000;
my $now_ms = int(time * 1000);
my $monday = (int(($now_ms - 4 * $day) / (7 * $day)) + 1) * 7 * $day +
    4 * $day;
my $off = $monday + 60_000 - $now_ms;
$ENV{FOUR11_CLOCK_OFFSET_MS} = $off;
$d->start;

# validation
my ($st, $j) = $d->api(POST => '/api/v1/searches', { name => 'Bad',
    type => 'push', targets => [{ target => 'mailx', digest => 'weekly' }] });
is($st, 422, 'digest "weekly": 422');
is($j->{error}{field}, 'targets[0].digest', '... naming targets[0].digest')
    or diag explain $j;
($st, $j) = $d->api(POST => '/api/v1/searches', { name => 'Bad',
    type => 'push', targets => [{ target => 'hook', digest => 'hourly' }] });
is($st, 422, 'a digest on a webhook target: 422');
is($j->{error}{field}, 'targets[0].digest', '... naming targets[0].digest');
like($j->{error}{message} // '', qr/only email/, '... saying why');

($st, my $s) = $d->api(POST => '/api/v1/searches', { name => 'Digest <me>',
    type => 'push', priority => 'high', fields => ['host'],
    targets => [{ target => 'mailx', digest => 'hourly' }] });
is($st, 201, 'push search with an hourly email digest') or diag explain $s;
is($s->{targets}[0]{digest}, 'hourly', '... the target keeps "digest"');

(undef, my $run) = $d->api(POST => "/api/v1/push/$s->{id}",
    [map { { content => { host => "web0$_" } } } 1 .. 3]);
is($run->{alerts}, 3, 'three alerts');
ok(wait_for(sub { @{entries($redis, '411:events')} >= 3 }),
    'their events reached 411:events');
my (undef, $l) = $d->api(GET => "/api/v1/alerts?search=$s->{id}");
my @ids = sort { $a <=> $b } map { $_->{id} } @{$l->{items}};
is(scalar @ids, 3, 'three alerts listed');
($st) = $d->api(POST => '/api/v1/alerts/actions', { ids => [$ids[0]],
    action => 'resolve', resolution => 'action_taken' });
is($st, 200, 'the first one resolved');
ok(wait_for(sub { grep { $_->{type} eq 'alert.resolved' }
    @{entries($redis, '411:events')} }), 'alert.resolved reached 411:events');
is(scalar @{entries($redis, '411:notify:email')}, 0,
    'no per-alert email job');
is($d->stop, 0, 'stopped');

# an hour later: one digest
$ENV{FOUR11_CLOCK_OFFSET_MS} = $off + 3600_000;
$d->start;
my $jobs = wait_for(sub { my $e = entries($redis, '411:notify:email');
    @$e ? $e : undef });
is(scalar @{$jobs || []}, 1, 'one job on 411:notify:email');
my $job = $jobs->[0] || {};
is($job->{type}, 'digest', '... of type digest');
my $p = eval { $J->decode($job->{payload} // '') } || {};
is($p->{event_type}, 'digest', '... event_type digest');
is($p->{event_id}, $job->{id}, '... the entry id is the event id');
is($p->{digest}{period}, 'hourly', '... period hourly');
is($p->{digest}{count}, 3, '... count 3');
is($p->{search}{id}, $s->{id}, '... of the search');
is($p->{target}{name}, 'mailx', '... to mailx');
is_deeply([sort { $a <=> $b } map { $_->{id} } @{$p->{alerts} || []}],
    \@ids, '... listing the three alerts');
my %state = map { $_->{id} => $_->{state} } @{$p->{alerts} || []};
is($state{$ids[0]}, 'resolved', '... the resolved one as resolved');
is($state{$ids[1]}, 'new', '... the others as new');
is($p->{alert_links}[0], "http://411.example.com/#/alerts/$ids[0]",
    '... with links');
like($p->{digest}{to} // '', qr/T\d\d:00:00(\.000)?Z$/, '... to an hour');
is($d->stop, 0, 'stopped');

# a second pass: nothing more
$d->start;
sleep(4);
is(scalar @{entries($redis, '411:notify:email')}, 1, 'no second digest');
is($d->stop, 0, 'stopped');

# a week later: the weekly summary
$ENV{FOUR11_CLOCK_OFFSET_MS} = $off + 7 * $day + 3600_000;
$d->start;
$jobs = wait_for(sub { my $e = entries($redis, '411:notify:email');
    @$e >= 2 ? $e : undef });
is(scalar @{$jobs || []}, 2, 'a second job: the summary');
$p = eval { $J->decode($jobs->[1]{payload} // '') } || {};
is($p->{digest}{period}, 'weekly', '... period weekly');
ok(!exists $p->{search}, '... about no one search');
my ($row) = grep { $_->{id} == $s->{id} } @{$p->{summary} || []};
is($row->{alerts}, 3, '... the search had 3 new alerts') or diag explain $p;
is($row->{open}, 2, '... 2 still open');
is($p->{digest}{count}, 3, '... 3 in all');

# 411-notify mails it
my $conf = <<"EOF";
retry_min 200ms
retry_max 1s
target mailx email url smtp://127.0.0.1:$mport from "411 <alerts\@example.com>" to oncall\@example.com subject "[411] {{search.name}} on {{alert.content.host}}"
EOF
my $wm = TestNotify->new(redis => $redis, conf => $conf);
$wm->start(type => 'email', name => 'm1');
ok(wait_for(sub { -e "$mdir/2.json" }), 'the SMTP server got two mails');
my ($mail, $sum) = map { slurp_json("$mdir/$_.json") } 1, 2;
($mail, $sum) = ($sum, $mail) if ($mail->{plain} // '') =~ /Weekly/;
my %h = map { lc($_->[0]) => $_->[1] } @{$mail->{headers} || []};
is($h{subject}, '[411] Digest <me>: 3 alerts (hourly)',
    'the digest subject (not the per-alert template)');
my $plain = $mail->{plain} // '';
like($plain, qr/web01.*web02.*web03/s, 'the text lists the three hosts');
like($plain, qr/resolved/, '... one resolved');
like($plain, qr{http://411\.example\.com/#/alerts/$ids[2]},
    '... with links');
like($mail->{html} // '', qr/Digest &lt;me&gt;/, 'the HTML part escapes');
like($mail->{html} // '', qr/web03/, '... and lists the alerts');
my %hs = map { lc($_->[0]) => $_->[1] } @{$sum->{headers} || []};
like($hs{subject} // '', qr/^\[411\] Weekly summary: \S+ to \S+$/,
    'the summary subject');
like($sum->{plain} // '', qr/Digest <me>: priority high, 3 new, 2 open/,
    'the summary lists the search');
sleep(1);
ok(!-e "$mdir/3.json", 'two mails only');
is($wm->stop, 0, 'email worker stops');
is($d->stop, 0, 'stopped');
delete $ENV{FOUR11_CLOCK_OFFSET_MS};
done_testing();
